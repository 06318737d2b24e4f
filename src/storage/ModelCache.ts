import { isQuotaError, type KeyValueStore } from './KeyValueStore.ts';
import { type CachedFile, chunkKey, chunkKeys, emptyManifest, manifestKey, type ModelManifest, type PartialFile, partialKey } from './ModelManifest.ts';
import { checkStoredFile, readChunk, readPartialFile, readStoredFile, storedFileChunks, type StoredFileRead } from './storedChunks.ts';

/**
 * One model's corner of the weight store: its manifest, its files' chunks and its interrupted
 * downloads. Caching is a help, never a condition: the first write the store refuses (a full
 * quota, most often) turns caching off for the rest of the load, reports why through
 * `onDisabled`, and every later write is skipped, so the load goes on from the network.
 */
export class ModelCache {
  private caching = true;
  private manifest: ModelManifest | null = null;
  private manifestLoaded: Promise<ModelManifest> | null = null;
  /** Manifest writes run one after another, so an older copy never lands after a newer one. */
  private manifestWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: KeyValueStore,
    readonly model: string,
    private readonly onDisabled: (warning: string) => void,
  ) {}

  /** The manifest once loaded; null before. */
  get loaded(): ModelManifest | null {
    return this.manifest;
  }

  /** The stored manifest, or an empty one for a model not cached (or a store that cannot be read). */
  async loadManifest(): Promise<ModelManifest> {
    this.manifestLoaded ??= (async () => {
      let m: ModelManifest | undefined;
      try {
        m = await this.store.get<ModelManifest>(manifestKey(this.model));
      } catch {
        m = undefined;
      }
      this.manifest = m ?? emptyManifest(this.model, Date.now());
      return this.manifest;
    })();
    return this.manifestLoaded;
  }

  /** Marks the model complete (every file it needs is stored), with its fingerprint. */
  async commit(fingerprint: string | null): Promise<void> {
    const m = await this.loadManifest();
    if (!this.caching) return;
    m.complete = true;
    m.fingerprint = fingerprint;
    m.lastUsed = Date.now();
    await this.saveManifest();
  }

  /** Records a use, for least-recently-used eviction. */
  async touch(): Promise<void> {
    if (!this.manifest || !this.caching) return;
    this.manifest.lastUsed = Date.now();
    try {
      await this.saveManifest();
    } catch {
      // Only the LRU time is lost.
    }
  }

  readFile(name: string, entry: CachedFile): Promise<StoredFileRead> {
    return readStoredFile(this.store, this.model, name, entry);
  }

  /** Checks a stored file against its size and SHA-256 one chunk at a time (see checkStoredFile). */
  checkFile(name: string, entry: CachedFile): Promise<'ok' | 'unreadable' | 'corrupt'> {
    return checkStoredFile(this.store, this.model, name, entry);
  }

  /** A stored file's chunks, read one at a time as they are asked for. */
  fileChunks(name: string, entry: CachedFile): AsyncGenerator<Uint8Array> {
    return storedFileChunks(this.store, this.model, name, entry);
  }

  /** Chunk `i` of an interrupted download, or null when caching is off or it cannot be read. */
  async partialChunk(name: string, state: PartialFile, i: number): Promise<Uint8Array | null> {
    return this.caching ? readChunk(this.store, chunkKey(this.model, name, i), state.chunks[i]) : null;
  }

  /** Forgets a stored file (one that could not be read back), so that it is fetched again. */
  async dropFile(name: string): Promise<void> {
    const m = this.manifest!;
    const entry = m.files[name];
    delete m.files[name];
    m.complete = false;
    try {
      if (entry) await this.store.delMany(chunkKeys(this.model, name, entry.chunks));
      await this.saveManifest();
    } catch {
      // A store that cannot delete cannot be trusted for writes either.
      this.disable('IndexedDB refused a delete');
    }
  }

  /** Enters a finished download (its chunks already stored) in the manifest, and forgets its partial record. */
  async recordFile(name: string, file: CachedFile): Promise<void> {
    if (!this.caching) return;
    try {
      const m = this.manifest!;
      m.files[name] = file;
      m.absent = m.absent.filter((f) => f !== name);
      await this.saveManifest();
      await this.store.del(partialKey(this.model, name));
    } catch {
      // Caching is off now; the bytes are good.
    }
  }

  async loadPartial(name: string): Promise<PartialFile | null> {
    try {
      return (await this.store.get<PartialFile>(partialKey(this.model, name))) ?? null;
    } catch {
      return null;
    }
  }

  /** Appends a chunk to a download, then records how far it got, so that a later attempt or load resumes after it. */
  async storeChunk(name: string, state: PartialFile, chunk: Uint8Array): Promise<void> {
    const index = state.chunks.length;
    state.chunks.push(chunk.length);
    state.received += chunk.length;
    if (!this.caching) return;
    try {
      await this.put(chunkKey(this.model, name, index), chunk);
      await this.put(partialKey(this.model, name), { ...state, chunks: [...state.chunks] });
    } catch {
      // put() has turned caching off; the download goes on in memory.
    }
  }

  /** The bytes a download stored so far, into `out` (or a new array); null when caching is off or they cannot be read. */
  async readPartial(name: string, state: PartialFile, out: Uint8Array | null): Promise<Uint8Array | null> {
    if (!this.caching) return null;
    return readPartialFile(this.store, this.model, name, state, out);
  }

  async dropPartial(name: string, state: PartialFile): Promise<void> {
    try {
      await this.store.delMany([partialKey(this.model, name), ...chunkKeys(this.model, name, state.chunks)]);
    } catch {
      // Leftovers are overwritten by the next download.
    }
  }

  private async saveManifest(): Promise<void> {
    const m = this.manifest!;
    const write = this.manifestWrite.then(() => this.put(manifestKey(this.model), structuredClone(m)));
    this.manifestWrite = write.then(() => undefined, () => undefined);
    await write;
  }

  /** A store write; a full quota turns caching off (with a warning) instead of failing the load. */
  private async put(key: string, value: unknown): Promise<void> {
    if (!this.caching) return;
    try {
      await this.store.set(key, value);
    } catch (e) {
      this.disable(isQuotaError(e) ? 'the storage quota is full' : `IndexedDB refused a write (${(e as Error).message})`);
      throw e;
    }
  }

  private disable(why: string): void {
    if (!this.caching) return;
    this.caching = false;
    this.onDisabled(`model weights are not cached: ${why}; loading from the network without caching`);
  }
}
