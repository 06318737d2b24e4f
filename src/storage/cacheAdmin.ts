import type { KeyValueStore } from './KeyValueStore.ts';
import type { KvBlockStore } from './KvBlockStore.ts';
import { isManifestKey, isModelKey, manifestKey, type ModelManifest } from './ModelManifest.ts';

/** One cached model, as `engine.cache.list()` reports it. */
export interface CachedModel {
  /** The model's URL (the key `engine.cache.delete()` takes). */
  model: string;
  files: { name: string; bytes: number; sha256: string }[];
  bytes: number;
  complete: boolean;
  fingerprint: string | null;
  lastUsed: number;
  /** Prefix-KV blocks stored for this model's fingerprint. */
  kvBlocks: number;
  kvBytes: number;
}

export async function listCachedModels(weights: KeyValueStore, kv: KvBlockStore): Promise<CachedModel[]> {
  const keys = (await weights.keys()).filter(isManifestKey);
  const manifests = (await weights.getMany<ModelManifest>(keys)).filter((m): m is ModelManifest => !!m);
  const kvSummary = await kv.summary();
  return manifests.map((m) => {
    const files = Object.entries(m.files).map(([name, f]) => ({ name, bytes: f.size, sha256: f.sha256 }));
    const k = kvSummary.find((s) => s.fingerprint === m.fingerprint);
    return {
      model: m.model,
      files,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      complete: m.complete,
      fingerprint: m.fingerprint,
      lastUsed: m.lastUsed,
      kvBlocks: k?.blocks ?? 0,
      kvBytes: k?.bytes ?? 0,
    };
  });
}

/** Deletes a model's weights (manifest, chunks, partial downloads) and its prefix-KV blocks; false if it was not cached. */
export async function deleteCachedModel(weights: KeyValueStore, kv: KvBlockStore, model: string): Promise<boolean> {
  const base = model.replace(/\/+$/, '');
  const m = await weights.get<ModelManifest>(manifestKey(base));
  const keys = (await weights.keys()).filter((k) => isModelKey(k, base));
  await weights.delMany(keys);
  if (m?.fingerprint) await kv.deleteModel(m.fingerprint);
  return keys.length > 0;
}
