import { ggufSource, ggufUrl, type ModelSource, openSource, UrlSource } from '../model/ModelSource.ts';
import { CachedSource } from '../storage/CachedSource.ts';
import type { KeyValueStore } from '../storage/KeyValueStore.ts';
import type { EngineSpeculativeOption } from './draftModelLoad.ts';

/** Where a draft model's files are kept: the weight store the model's own files go to. */
export interface DraftCacheOptions {
  store: KeyValueStore;
  /** Bytes per stored chunk, as for the model. */
  chunkBytes?: number;
  /**
   * The model's own cached source and the key it is kept under: a draft at the same URL (the
   * model itself in a smaller weight format) is read through it, one entry for both, so that
   * two caches never write one manifest.
   */
  target?: { key: string; source: CachedSource } | null;
  /** Why caching stopped (a full quota) or that a cached file was bad; the load goes on. */
  onWarning?: (message: string) => void;
}

/** A draft model's source that keeps its files: loadDraftModel commits it once the draft has loaded. */
export interface CachingSource extends ModelSource {
  commit(fingerprint: string | null): Promise<void>;
}

/**
 * The engine's `speculative` option with its draft model (a URL, as the worker has it) read
 * through the weight cache, exactly as the model is: a CachedSource over the same store, kept
 * under the draft's own URL (a GGUF file's own URL, as for the model), so that a reload reads
 * the draft from IndexedDB too. Its name stays the URL, which a request's `draft_model` names.
 */
export async function draftThroughCache(
  option: (Omit<EngineSpeculativeOption, 'draftModel'> & { draftModel?: string }) | undefined,
  opts: DraftCacheOptions,
): Promise<EngineSpeculativeOption | undefined> {
  if (option?.draftModel === undefined) return option;
  return { ...option, draftModel: await cachedDraftSource(option.draftModel, opts) };
}

/**
 * `spec` through the cache: an http(s) URL of a folder or of one GGUF file. Anything else (an
 * `hf:` GGUF spec, a local folder in Node) is opened as usual and not cached.
 */
export async function cachedDraftSource(spec: string, opts: DraftCacheOptions): Promise<ModelSource> {
  const key = spec.replace(/\/+$/, '');
  const gguf = ggufUrl(spec);
  if (opts.target && opts.target.key === key) return named(gguf ? ggufSource(opts.target.source, gguf.file) : opts.target.source, spec, null);
  const inner = gguf ? new UrlSource(gguf.folder) : await openSource(spec);
  if (!(inner instanceof UrlSource)) return inner;
  const warned = new Set<string>();
  const cached = new CachedSource(inner, {
    store: opts.store,
    chunkBytes: opts.chunkBytes,
    modelKey: key,
    // Only warnings: the draft's files would read as the model's own on the load's progress bar.
    onProgress: (p) => {
      if (!p.warning || warned.has(p.warning)) return;
      warned.add(p.warning);
      opts.onWarning?.(`draft model ${spec}: ${p.warning}`);
    },
  });
  return named(gguf ? ggufSource(cached, gguf.file) : cached, spec, cached);
}

/** Whether loadDraftModel should commit `source` (mark it complete in the cache) once loaded. */
export function isCachingSource(source: ModelSource): source is CachingSource {
  return typeof (source as Partial<CachingSource>).commit === 'function';
}

/** `source` under `name`; committing commits `cache` (none: the model's own entry, which the model commits). */
function named(source: ModelSource, name: string, cache: CachedSource | null): CachingSource {
  return {
    describe: () => name,
    fetchFile: (file) => source.fetchFile(file),
    fetchJson: (file) => source.fetchJson(file),
    ...(source.has ? { has: (file: string) => source.has!(file) } : {}),
    ...(source.streamFile ? { streamFile: (file: string) => source.streamFile!(file) } : {}),
    ...(source.packedCache ? { packedCache: source.packedCache } : {}),
    ...(source.ggufFile !== undefined ? { ggufFile: source.ggufFile } : {}),
    commit: async (fingerprint) => {
      await cache?.commit(fingerprint);
    },
  };
}
