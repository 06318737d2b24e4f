import { type FileStream, type ModelSource, type PackedWeightsCache, parseJsonFile, type UrlSource } from '../model/ModelSource.ts';
import type { KeyValueStore } from './KeyValueStore.ts';
import { type DownloadProgress, LoadProgress } from './LoadProgress.ts';
import { ModelCache } from './ModelCache.ts';
import { PackedStore } from './PackedStore.ts';
import { ResumableDownload } from './ResumableDownload.ts';
import { streamDownload } from './streamDownload.ts';

export type { DownloadProgress } from './LoadProgress.ts';
export { type CachedFile, manifestKey, type ModelManifest } from './ModelManifest.ts';

export interface CachedSourceOptions {
  store: KeyValueStore;
  /** Bytes per stored chunk; 8 MiB by default. */
  chunkBytes?: number;
  /** Attempts per file when a response breaks off (each one resumes with a Range request). */
  attempts?: number;
  onProgress?: (p: DownloadProgress) => void;
  fetchImpl?: typeof fetch;
  /** The key the model is kept under; the source's URL by default (a GGUF file's own URL, so that files sharing a folder stay apart). */
  modelKey?: string;
}

/**
 * A ModelSource that keeps a URL source's files in IndexedDB. Files are stored in chunks as
 * they arrive, so an interrupted download resumes with `Range: bytes=N-`; each file's SHA-256
 * is kept and checked on every read, and a file that fails the check is dropped and fetched
 * again. After a load completes (`commit`), the manifest answers every question about the
 * model, so a second load makes no network request. A full quota turns caching off for the
 * rest of the load (with a warning) and never fails it.
 */
export class CachedSource implements ModelSource {
  readonly model: string;
  /** Why caching stopped, if it did. */
  warning: string | null = null;
  /** What crossed the network, for tests and load info. */
  readonly net = { requests: 0, bytes: 0 };
  private readonly cache: ModelCache;
  private readonly progress: LoadProgress;
  private readonly downloads: ResumableDownload;
  private readonly settings: { fetchImpl: typeof fetch; attempts: number; chunkBytes: number };
  /** Quantize-on-load results, kept packed beside the model's files: a second load reads them instead of quantizing. */
  readonly packedCache: PackedWeightsCache;

  constructor(
    readonly inner: UrlSource,
    opts: CachedSourceOptions,
  ) {
    this.model = opts.modelKey ?? inner.baseUrl;
    this.cache = new ModelCache(opts.store, this.model, (warning) => {
      this.warning = warning;
      this.progress.warn(warning);
    });
    this.progress = new LoadProgress(opts.onProgress, () => this.cache.loaded);
    this.settings = {
      fetchImpl: opts.fetchImpl ?? ((input, init) => globalThis.fetch(input, init)),
      attempts: opts.attempts ?? 4,
      chunkBytes: opts.chunkBytes ?? 8 * 2 ** 20,
    };
    this.downloads = new ResumableDownload(this.cache, this.progress, this.net, this.settings);
    this.packedCache = new PackedStore(opts.store, this.cache, this.settings.chunkBytes, (warning) => this.progress.warn(warning));
  }

  describe(): string {
    return this.inner.describe();
  }

  /** Whether this load was served from the cache alone so far. */
  get fromCache(): boolean {
    return this.net.requests === 0;
  }

  async fetchJson(name: string): Promise<unknown> {
    return parseJsonFile(name, await this.fetchFile(name));
  }

  async has(name: string): Promise<boolean> {
    const m = await this.cache.loadManifest();
    if (m.files[name]) return true;
    if (m.absent.includes(name)) return false;
    this.net.requests++;
    const present = await this.inner.has(name);
    if (!present && !m.absent.includes(name)) m.absent.push(name);
    return present;
  }

  async fetchFile(name: string): Promise<Uint8Array> {
    const m = await this.cache.loadManifest();
    this.progress.fileStarted(name);
    const entry = m.files[name];
    if (entry) {
      const read = await this.cache.readFile(name, entry);
      if (read instanceof Uint8Array) {
        this.progress.finished(name, read.length, true);
        void this.cache.touch();
        return read;
      }
      if (read === 'corrupt') {
        this.progress.warn(`cached ${name} of ${this.model} failed its checksum; fetching it again`, { file: name, bytesTotal: entry.size, fromCache: true });
      }
      await this.cache.dropFile(name);
    }
    return this.downloads.download(name, this.inner.url(name));
  }

  /**
   * The file chunk by chunk, never assembled: a cached file is checked first (one chunk held at a
   * time; a bad one is dropped and downloaded again), then read back a chunk at a time; any other
   * is downloaded as it is read, and stored on the way (streamDownload).
   */
  async streamFile(name: string): Promise<FileStream> {
    const m = await this.cache.loadManifest();
    this.progress.fileStarted(name);
    const entry = m.files[name];
    if (entry) {
      const check = await this.cache.checkFile(name, entry);
      if (check === 'ok') {
        const { cache, progress } = this;
        const chunks = async function* () {
          yield* cache.fileChunks(name, entry);
          progress.finished(name, entry.size, true);
          void cache.touch();
        };
        return { size: entry.size, chunks: chunks() };
      }
      if (check === 'corrupt') {
        this.progress.warn(`cached ${name} of ${this.model} failed its checksum; fetching it again`, { file: name, bytesTotal: entry.size, fromCache: true });
      }
      await this.cache.dropFile(name);
    }
    return streamDownload({ cache: this.cache, progress: this.progress, net: this.net, settings: this.settings }, name, this.inner.url(name));
  }

  /** Marks the model complete (every file it needs is stored), with its fingerprint. */
  async commit(fingerprint: string | null): Promise<void> {
    await this.cache.commit(fingerprint);
  }
}
