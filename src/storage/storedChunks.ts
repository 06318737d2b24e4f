import { sha256 } from '@noble/hashes/sha2.js';
import { StorageError } from '../errors.ts';
import { sha256Hex } from '../model/sha256.ts';
import type { KeyValueStore } from './KeyValueStore.ts';
import { type CachedFile, chunkKeys, type PartialFile } from './ModelManifest.ts';

/**
 * A finished file read back from its chunks: the bytes, or why they cannot be used.
 * `unreadable`: the store failed, or a chunk is missing or not the size recorded.
 * `corrupt`: every chunk is there, but the whole is not the size or SHA-256 recorded.
 */
export type StoredFileRead = Uint8Array | 'unreadable' | 'corrupt';

/** A finished file, assembled from its chunks and checked against its manifest entry. */
export async function readStoredFile(store: KeyValueStore, model: string, name: string, entry: CachedFile): Promise<StoredFileRead> {
  let chunks: (ArrayBuffer | Uint8Array | undefined)[];
  try {
    chunks = await store.getMany(chunkKeys(model, name, entry.chunks));
  } catch {
    return 'unreadable';
  }
  const out = new Uint8Array(entry.size);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (!c) return 'unreadable';
    const bytes = c instanceof Uint8Array ? c : new Uint8Array(c);
    if (bytes.length !== entry.chunks[i] || at + bytes.length > out.length) return 'unreadable';
    out.set(bytes, at);
    at += bytes.length;
  }
  if (at !== entry.size || (await sha256Hex(out)) !== entry.sha256) return 'corrupt';
  return out;
}

/**
 * The stored chunks of an interrupted download, into `out` (or a new array of the bytes
 * received); null when the store fails or a chunk is missing or not the size recorded. There
 * is no checksum yet: the file is checked once the download finishes.
 */
export async function readPartialFile(store: KeyValueStore, model: string, name: string, state: PartialFile, out: Uint8Array | null): Promise<Uint8Array | null> {
  let chunks: (Uint8Array | undefined)[];
  try {
    chunks = await store.getMany<Uint8Array>(chunkKeys(model, name, state.chunks));
  } catch {
    return null;
  }
  const target = out ?? new Uint8Array(state.received);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (!c || c.length !== state.chunks[i]) return null;
    target.set(c, at);
    at += c.length;
  }
  return target;
}

/**
 * A finished file checked without assembling it: each chunk read, size-checked and hashed, then
 * let go (SHA-256 incrementally, as WebCrypto cannot), so the check holds one chunk at a time.
 */
export async function checkStoredFile(store: KeyValueStore, model: string, name: string, entry: CachedFile): Promise<'ok' | 'unreadable' | 'corrupt'> {
  const hash = sha256.create();
  let size = 0;
  for (const [i, key] of chunkKeys(model, name, entry.chunks).entries()) {
    const bytes = await readChunk(store, key, entry.chunks[i]);
    if (!bytes) return 'unreadable';
    hash.update(bytes);
    size += bytes.length;
  }
  if (size !== entry.size || hex(hash.digest()) !== entry.sha256) return 'corrupt';
  return 'ok';
}

/** A finished file's chunks in order, one read at a time (check it first: checkStoredFile). */
export async function* storedFileChunks(store: KeyValueStore, model: string, name: string, entry: CachedFile): AsyncGenerator<Uint8Array> {
  for (const [i, key] of chunkKeys(model, name, entry.chunks).entries()) {
    const bytes = await readChunk(store, key, entry.chunks[i]);
    if (!bytes) throw new StorageError(`the cached ${name} of ${model} could not be read back (chunk ${i}); delete it from the cache and load again`);
    yield bytes;
  }
}

/** One stored chunk, or null when it cannot be read or is not `size` bytes. */
export async function readChunk(store: KeyValueStore, key: string, size: number): Promise<Uint8Array | null> {
  let c: ArrayBuffer | Uint8Array | undefined;
  try {
    c = await store.get<ArrayBuffer | Uint8Array>(key);
  } catch {
    return null;
  }
  if (!c) return null;
  const bytes = c instanceof Uint8Array ? c : new Uint8Array(c);
  return bytes.length === size ? bytes : null;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
