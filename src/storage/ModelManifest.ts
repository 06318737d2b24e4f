/**
 * What the weight cache records about a model, and the keys it records it under. One store
 * holds every model: `m:` its manifest, `c:` the chunks of its files, `p:` a download that
 * broke off, `q:` its quantize-on-load results (PackedStore). The model part of a key is its base URL.
 */

export interface CachedFile {
  size: number;
  sha256: string;
  /** Sizes of the stored chunks, in order. */
  chunks: number[];
}

/** What the cache knows of one model: its files (with checksums) and the optional files it lacks. */
export interface ModelManifest {
  model: string;
  files: Record<string, CachedFile>;
  absent: string[];
  /** Set once a whole load finished: from then on the model loads without the network. */
  complete: boolean;
  fingerprint: string | null;
  created: number;
  lastUsed: number;
}

/** An interrupted download: the chunks stored so far. */
export interface PartialFile {
  received: number;
  chunks: number[];
  total: number | null;
  etag: string | null;
}

export function emptyManifest(model: string, now: number): ModelManifest {
  return { model, files: {}, absent: [], complete: false, fingerprint: null, created: now, lastUsed: now };
}

export const manifestKey = (model: string): string => `m:${model}`;
export const chunkKey = (model: string, file: string, i: number): string => `c:${model}|${file}|${i}`;
export const partialKey = (model: string, file: string): string => `p:${model}|${file}`;
/** A quantize-on-load result's index, and chunk `c` of its tensor `i` (`key` names the source files and the option). */
export const packedIndexKey = (model: string, key: string): string => `q:${model}|${key}`;
export const packedChunkKey = (model: string, key: string, i: number, c: number): string => `q:${model}|${key}|${i}|${c}`;

/** The keys of a file's stored chunks, one per recorded chunk size. */
export const chunkKeys = (model: string, file: string, chunks: readonly number[]): string[] => chunks.map((_, i) => chunkKey(model, file, i));

export const isManifestKey = (key: string): boolean => key.startsWith('m:');

/** Whether a key is one of the model's: its manifest, a chunk, a partial download, or a quantized result. */
export const isModelKey = (key: string, model: string): boolean =>
  key === manifestKey(model) || key.startsWith(`c:${model}|`) || key.startsWith(`p:${model}|`) || key.startsWith(`q:${model}|`);
