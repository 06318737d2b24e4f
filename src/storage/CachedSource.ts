import { FolioError, NetworkError } from '../errors.ts';
import { type ModelSource, parseJsonFile, type UrlSource } from '../model/ModelSource.ts';
import { sha256Hex } from '../model/sha256.ts';
import { isQuotaError, type KeyValueStore } from './KeyValueStore.ts';

/** Byte-level progress of one file, for a progress bar. */
export interface DownloadProgress {
  file: string;
  /** Bytes of this file received (or read from the cache) so far, and its size (0 when unknown). */
  bytesLoaded: number;
  bytesTotal: number;
  /** Bytes over all files so far, network and cache together. */
  totalBytesLoaded: number;
  /** Files finished, and files known so far (all of them once a manifest exists). */
  filesDone: number;
  filesTotal: number;
  fromCache: boolean;
  /** Set once, when caching stopped (a full quota): the load goes on without it. */
  warning?: string;
}

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
interface PartialFile {
  received: number;
  chunks: number[];
  total: number | null;
  etag: string | null;
}

export interface CachedSourceOptions {
  store: KeyValueStore;
  /** Bytes per stored chunk; 8 MiB by default. */
  chunkBytes?: number;
  /** Attempts per file when a response breaks off (each one resumes with a Range request). */
  attempts?: number;
  onProgress?: (p: DownloadProgress) => void;
  fetchImpl?: typeof fetch;
}

export const manifestKey = (model: string): string => `m:${model}`;
const chunkKey = (model: string, file: string, i: number): string => `c:${model}|${file}|${i}`;
const partialKey = (model: string, file: string): string => `p:${model}|${file}`;
const SHA_ETAG = /^(?:W\/)?"?([0-9a-f]{64})"?$/;

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
  private caching = true;
  private manifest: ModelManifest | null = null;
  private manifestLoaded: Promise<ModelManifest> | null = null;
  private manifestWrite: Promise<void> = Promise.resolve();
  private readonly chunkBytes: number;
  private readonly attempts: number;
  private readonly fetchImpl: typeof fetch;
  private readonly progress = { files: new Set<string>(), done: 0, bytes: 0 };

  constructor(
    readonly inner: UrlSource,
    private readonly opts: CachedSourceOptions,
  ) {
    this.model = inner.baseUrl;
    this.chunkBytes = opts.chunkBytes ?? 8 * 2 ** 20;
    this.attempts = opts.attempts ?? 4;
    this.fetchImpl = opts.fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
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
    const m = await this.loadManifest();
    if (m.files[name]) return true;
    if (m.absent.includes(name)) return false;
    this.net.requests++;
    const present = await this.inner.has(name);
    if (!present && !m.absent.includes(name)) m.absent.push(name);
    return present;
  }

  async fetchFile(name: string): Promise<Uint8Array> {
    const m = await this.loadManifest();
    this.progress.files.add(name);
    const entry = m.files[name];
    if (entry) {
      const bytes = await this.readCached(name, entry);
      if (bytes) {
        this.progress.bytes += bytes.length;
        this.report(name, bytes.length, bytes.length, true, true);
        void this.touch();
        return bytes;
      }
      await this.dropFile(name);
    }
    return this.download(name);
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

  private async loadManifest(): Promise<ModelManifest> {
    this.manifestLoaded ??= (async () => {
      let m: ModelManifest | undefined;
      try {
        m = await this.opts.store.get<ModelManifest>(manifestKey(this.model));
      } catch {
        m = undefined;
      }
      const now = Date.now();
      this.manifest = m ?? { model: this.model, files: {}, absent: [], complete: false, fingerprint: null, created: now, lastUsed: now };
      return this.manifest;
    })();
    return this.manifestLoaded;
  }

  private async saveManifest(): Promise<void> {
    const m = this.manifest!;
    const write = this.manifestWrite.then(() => this.put(manifestKey(this.model), structuredClone(m)));
    this.manifestWrite = write.then(() => undefined, () => undefined);
    await write;
  }

  private async touch(): Promise<void> {
    if (!this.manifest || !this.caching) return;
    this.manifest.lastUsed = Date.now();
    try {
      await this.saveManifest();
    } catch {
      // Only the LRU time is lost.
    }
  }

  /** A stored file, assembled and checked; null when a chunk is missing or the checksum fails. */
  private async readCached(name: string, entry: CachedFile): Promise<Uint8Array | null> {
    let chunks: (ArrayBuffer | Uint8Array | undefined)[];
    try {
      chunks = await this.opts.store.getMany(entry.chunks.map((_, i) => chunkKey(this.model, name, i)));
    } catch {
      return null;
    }
    const out = new Uint8Array(entry.size);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      if (!c) return null;
      const bytes = c instanceof Uint8Array ? c : new Uint8Array(c);
      if (bytes.length !== entry.chunks[i] || at + bytes.length > out.length) return null;
      out.set(bytes, at);
      at += bytes.length;
    }
    if (at !== entry.size || (await sha256Hex(out)) !== entry.sha256) {
      this.report(name, 0, entry.size, true, false, `cached ${name} of ${this.model} failed its checksum; fetching it again`);
      return null;
    }
    return out;
  }

  private async dropFile(name: string): Promise<void> {
    const m = this.manifest!;
    const entry = m.files[name];
    delete m.files[name];
    m.complete = false;
    try {
      if (entry) await this.opts.store.delMany(entry.chunks.map((_, i) => chunkKey(this.model, name, i)));
      await this.saveManifest();
    } catch {
      // A store that cannot delete cannot be trusted for writes either.
      this.disable('IndexedDB refused a delete');
    }
  }

  /** Downloads a file, storing chunks as they arrive and resuming from stored bytes. */
  private async download(name: string): Promise<Uint8Array> {
    const url = this.inner.url(name);
    let partial = await this.loadPartial(name);
    let lastError: Error | null = null;
    let buffer: Uint8Array | null = null;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const offset = partial?.received ?? 0;
      const headers: Record<string, string> = {};
      if (offset > 0) {
        headers.Range = `bytes=${offset}-`;
        if (partial?.etag) headers['If-Range'] = partial.etag;
      }
      let res: Response;
      try {
        this.net.requests++;
        res = await this.fetchImpl(url, { headers });
      } catch (e) {
        lastError = new NetworkError(url, `request failed (${(e as Error).message})`);
        continue;
      }
      if (offset > 0 && res.status === 416 && partial && partial.total === offset) {
        await res.body?.cancel();
        const whole = await this.assemble(name, partial, null);
        if (whole) return this.finish(name, url, partial, whole, partial.etag);
        await this.dropPartial(name, partial);
        partial = null;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      }
      let start = 0;
      let total: number | null = null;
      const length = Number(res.headers.get('Content-Length') ?? NaN);
      if (res.status === 206) {
        const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get('Content-Range') ?? '');
        start = m ? Number(m[1]) : NaN;
        total = m && m[3] !== '*' ? Number(m[3]) : Number.isFinite(length) ? start + length : null;
      } else {
        total = Number.isFinite(length) && !res.headers.get('Content-Encoding') ? length : null;
      }
      if (res.status === 200 && offset > 0) {
        // The server ignored the range (or If-Range saw a new version): this response is the whole file.
        if (partial) await this.dropPartial(name, partial);
        partial = null;
      } else if (start !== offset) {
        // A range we did not ask for: drop what we have and start over.
        await res.body?.cancel();
        if (partial) await this.dropPartial(name, partial);
        partial = null;
        continue;
      }
      const etag = res.headers.get('ETag');
      const state: PartialFile = partial ?? { received: 0, chunks: [], total, etag };
      state.total ??= total;
      state.etag = etag ?? state.etag;
      const reuse: boolean = buffer !== null && partial === state && buffer.length === state.total;
      const out: Uint8Array | null = reuse ? buffer : state.total !== null ? new Uint8Array(state.total) : null;
      buffer = out;
      const extra: Uint8Array[] = [];
      if (out && !reuse && state.received > 0) {
        const prior = await this.assemble(name, state, out);
        if (!prior) {
          await this.dropPartial(name, state);
          partial = null;
          continue;
        }
      }
      try {
        await this.receive(name, res, state, out, extra);
      } catch (e) {
        lastError = e instanceof FolioError ? e : new NetworkError(url, `download interrupted (${(e as Error).message})`);
        partial = state;
        continue;
      }
      const bytes = out ?? (extra.length === state.chunks.length ? concat(extra) : await this.assemble(name, state, null));
      if (!bytes) throw new NetworkError(url, 'the downloaded file could not be assembled');
      if (out && state.received !== out.length) {
        lastError = new NetworkError(url, `download ended at ${state.received} of ${out.length} bytes`);
        partial = state;
        continue;
      }
      return this.finish(name, url, state, bytes, etag);
    }
    throw lastError ?? new NetworkError(url, 'download failed');
  }

  /** Reads a response body into `out` (or `extra`), flushing a chunk to the store every chunkBytes. */
  private async receive(name: string, res: Response, state: PartialFile, out: Uint8Array | null, extra: Uint8Array[]): Promise<void> {
    const reader = res.body!.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunk = new Uint8Array(pendingBytes);
      let at = 0;
      for (const p of pending) {
        chunk.set(p, at);
        at += p.length;
      }
      pending = [];
      pendingBytes = 0;
      if (!out) extra.push(chunk);
      await this.storeChunk(name, state, chunk);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (out) {
          if (state.received + pendingBytes + value.length > out.length) throw new NetworkError(this.inner.url(name), 'the server sent more bytes than it announced');
          out.set(value, state.received + pendingBytes);
        }
        pending.push(value);
        pendingBytes += value.length;
        this.net.bytes += value.length;
        this.progress.bytes += value.length;
        this.report(name, state.received + pendingBytes, state.total ?? 0, false, false);
        if (pendingBytes >= this.chunkBytes) await flush();
      }
    } finally {
      // Whatever arrived is kept, also when the response broke off: the next attempt resumes after it.
      await flush();
    }
  }

  private async storeChunk(name: string, state: PartialFile, chunk: Uint8Array): Promise<void> {
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

  private async loadPartial(name: string): Promise<PartialFile | null> {
    try {
      return (await this.opts.store.get<PartialFile>(partialKey(this.model, name))) ?? null;
    } catch {
      return null;
    }
  }

  /** The stored chunks of a partial file, into `out` (or a new array). */
  private async assemble(name: string, state: PartialFile, out: Uint8Array | null): Promise<Uint8Array | null> {
    let chunks: (Uint8Array | undefined)[];
    if (!this.caching) return null;
    try {
      chunks = await this.opts.store.getMany<Uint8Array>(state.chunks.map((_, i) => chunkKey(this.model, name, i)));
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

  private async dropPartial(name: string, state: PartialFile): Promise<void> {
    try {
      await this.opts.store.delMany([partialKey(this.model, name), ...state.chunks.map((_, i) => chunkKey(this.model, name, i))]);
    } catch {
      // Leftovers are overwritten by the next download.
    }
  }

  private async finish(name: string, url: string, state: PartialFile, bytes: Uint8Array, etag: string | null): Promise<Uint8Array> {
    const sha256 = await sha256Hex(bytes);
    const expected = SHA_ETAG.exec(etag ?? '')?.[1];
    if (expected && expected !== sha256) {
      await this.dropPartial(name, state);
      throw new NetworkError(url, `the file's SHA-256 ${sha256} is not the ${expected} its ETag promises`);
    }
    this.progress.done++;
    this.report(name, bytes.length, bytes.length, false, true);
    if (this.caching) {
      try {
        const m = this.manifest!;
        m.files[name] = { size: bytes.length, sha256, chunks: [...state.chunks] };
        m.absent = m.absent.filter((f) => f !== name);
        await this.saveManifest();
        await this.opts.store.del(partialKey(this.model, name));
      } catch {
        // Caching is off now; the bytes are good.
      }
    }
    return bytes;
  }

  /** A store write; a full quota turns caching off (with a warning) instead of failing. */
  private async put(key: string, value: unknown): Promise<void> {
    if (!this.caching) return;
    try {
      await this.opts.store.set(key, value);
    } catch (e) {
      this.disable(isQuotaError(e) ? 'the storage quota is full' : `IndexedDB refused a write (${(e as Error).message})`);
      throw e;
    }
  }

  private disable(why: string): void {
    if (!this.caching) return;
    this.caching = false;
    this.warning = `model weights are not cached: ${why}; loading from the network without caching`;
    this.report('', 0, 0, false, false, this.warning);
  }

  private report(file: string, loaded: number, total: number, fromCache: boolean, fileDone: boolean, warning?: string): void {
    if (fileDone && fromCache) this.progress.done++;
    const m = this.manifest;
    const known = m?.complete ? Object.keys(m.files).length : this.progress.files.size;
    this.opts.onProgress?.({
      file,
      bytesLoaded: loaded,
      bytesTotal: total,
      totalBytesLoaded: this.progress.bytes,
      filesDone: this.progress.done,
      filesTotal: Math.max(known, this.progress.done),
      fromCache,
      ...(warning ? { warning } : {}),
    });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
