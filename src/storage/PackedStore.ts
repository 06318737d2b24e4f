import type { PackedWeightsCache, PackedWeightsEntry } from '../model/ModelSource.ts';
import { sha256Hex } from '../model/sha256.ts';
import type { PackedTensor } from '../model/weights.ts';
import type { WeightFormat } from '../quant/formats.ts';
import type { KeyValueStore } from './KeyValueStore.ts';
import type { ModelCache } from './ModelCache.ts';
import { packedChunkKey, packedIndexKey } from './ModelManifest.ts';

/** One stored tensor: an f32 one (1-D) or packed rows, its bytes' size, SHA-256 and chunk sizes. */
interface StoredTensor {
  name: string;
  format: WeightFormat | 'f32';
  rows: number;
  cols: number;
  size: number;
  sha256: string;
  chunks: number[];
}

/** What an entry's index key holds; written after every chunk, so that a half-written entry is never found. */
interface PackedIndex {
  fingerprint: string;
  tensors: StoredTensor[];
}

/**
 * Quantize-on-load results of one model, kept in its corner of the weight store next to its
 * files (`q:` keys, deleted with the model): every tensor in chunks with its SHA-256, checked on
 * read; an entry that fails is deleted and reads as absent (the model is quantized again). Like
 * the file cache, a store that refuses a write (a full quota) turns this off with a warning and
 * never fails the load.
 */
export class PackedStore implements PackedWeightsCache {
  constructor(
    private readonly store: KeyValueStore,
    private readonly cache: ModelCache,
    private readonly chunkBytes: number,
    private readonly warn: (message: string) => void,
  ) {}

  /** The SHA-256 a stored file was checked against, from the manifest (nothing is read). */
  async digest(name: string): Promise<string | null> {
    const m = await this.cache.loadManifest();
    return m.files[name]?.sha256 ?? null;
  }

  async get(key: string): Promise<PackedWeightsEntry | null> {
    const model = this.cache.model;
    let index: PackedIndex | undefined;
    try {
      index = await this.store.get<PackedIndex>(packedIndexKey(model, key));
    } catch {
      return null;
    }
    if (!index) return null;
    const entry: PackedWeightsEntry = { fingerprint: index.fingerprint, tensors: new Map(), packed: new Map() };
    for (const [i, t] of index.tensors.entries()) {
      const bytes = await this.readTensor(key, i, t);
      if (!bytes) {
        this.warn(`the cached ${key.slice(0, 12)}… quantized weights of ${model} failed their check (${t.name}); quantizing again`);
        await this.drop(key, index);
        return null;
      }
      if (t.format === 'f32') entry.tensors.set(t.name, new Float32Array(bytes.buffer, bytes.byteOffset, t.size / 4));
      else entry.packed.set(t.name, { format: t.format, bytes, rows: t.rows, cols: t.cols });
    }
    return entry;
  }

  async put(key: string, entry: PackedWeightsEntry): Promise<void> {
    const model = this.cache.model;
    const index: PackedIndex = { fingerprint: entry.fingerprint, tensors: [] };
    const all: [string, Float32Array | PackedTensor][] = [...entry.tensors, ...entry.packed];
    try {
      for (const [i, [name, t]] of all.entries()) {
        const packed = t instanceof Float32Array ? null : t;
        const bytes = packed ? packed.bytes : new Uint8Array((t as Float32Array).buffer, (t as Float32Array).byteOffset, (t as Float32Array).byteLength);
        const chunks: number[] = [];
        for (let at = 0; at < bytes.length || chunks.length === 0; at += this.chunkBytes) {
          const chunk = bytes.slice(at, Math.min(at + this.chunkBytes, bytes.length));
          await this.store.set(packedChunkKey(model, key, i, chunks.length), chunk);
          chunks.push(chunk.length);
        }
        const shape = packed ? { format: packed.format, rows: packed.rows, cols: packed.cols } : { format: 'f32' as const, rows: bytes.length / 4, cols: 1 };
        index.tensors.push({ name, ...shape, size: bytes.length, sha256: await sha256Hex(bytes), chunks });
      }
      await this.store.set(packedIndexKey(model, key), index);
    } catch (e) {
      this.warn(`quantized weights of ${model} are not cached: IndexedDB refused a write (${(e as Error).message})`);
      await this.drop(key, index);
    }
  }

  private async readTensor(key: string, i: number, t: StoredTensor): Promise<Uint8Array | null> {
    const out = new Uint8Array(t.size);
    let at = 0;
    try {
      const chunks = await this.store.getMany<Uint8Array | ArrayBuffer>(t.chunks.map((_, c) => packedChunkKey(this.cache.model, key, i, c)));
      for (const [c, raw] of chunks.entries()) {
        const chunk = raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
        if (!chunk || chunk.length !== t.chunks[c] || at + chunk.length > out.length) return null;
        out.set(chunk, at);
        at += chunk.length;
      }
    } catch {
      return null;
    }
    return at === t.size && (await sha256Hex(out)) === t.sha256 ? out : null;
  }

  private async drop(key: string, index: PackedIndex): Promise<void> {
    const model = this.cache.model;
    const keys = [packedIndexKey(model, key), ...index.tensors.flatMap((t, i) => t.chunks.map((_, c) => packedChunkKey(model, key, i, c)))];
    try {
      await this.store.delMany(keys);
    } catch {
      // Leftovers are overwritten by the next put under this key.
    }
  }
}
