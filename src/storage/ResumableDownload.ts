import { FolioError, NetworkError } from '../errors.ts';
import { sha256Hex } from '../model/sha256.ts';
import type { LoadProgress } from './LoadProgress.ts';
import type { ModelCache } from './ModelCache.ts';
import type { PartialFile } from './ModelManifest.ts';

/** What crossed the network during a load. */
export interface NetworkCounters {
  requests: number;
  bytes: number;
}

export interface DownloadSettings {
  fetchImpl: typeof fetch;
  /** Attempts per file when a response breaks off (each one resumes with a Range request). */
  attempts: number;
  /** Bytes per stored chunk. */
  chunkBytes: number;
}

/** An ETag that is a SHA-256 (some hosts send the file's) lets us check the download. */
export const SHA_ETAG = /^(?:W\/)?"?([0-9a-f]{64})"?$/;

/**
 * Downloads one file at a time, storing it in chunks as the bytes arrive, so that a response
 * that breaks off (in this load or a reload) resumes with `Range: bytes=N-` and `If-Range`
 * instead of starting over. A server that ignores the range (200), sends a range we did not
 * ask for, or answers 416 to a file already whole, is handled without trusting stale bytes.
 */
export class ResumableDownload {
  constructor(
    private readonly cache: ModelCache,
    private readonly progress: LoadProgress,
    private readonly net: NetworkCounters,
    private readonly settings: DownloadSettings,
  ) {}

  /** Downloads a file, storing chunks as they arrive and resuming from stored bytes. */
  async download(name: string, url: string): Promise<Uint8Array> {
    let partial = await this.cache.loadPartial(name);
    let lastError: Error | null = null;
    let buffer: Uint8Array | null = null;
    for (let attempt = 0; attempt < this.settings.attempts; attempt++) {
      const offset = partial?.received ?? 0;
      const headers: Record<string, string> = {};
      if (offset > 0) {
        headers.Range = `bytes=${offset}-`;
        if (partial?.etag) headers['If-Range'] = partial.etag;
      }
      let res: Response;
      try {
        this.net.requests++;
        res = await this.settings.fetchImpl(url, { headers });
      } catch (e) {
        lastError = new NetworkError(url, `request failed (${(e as Error).message})`);
        continue;
      }
      if (offset > 0 && res.status === 416 && partial && partial.total === offset) {
        // Every byte was stored before: the file only needs assembling.
        await res.body?.cancel();
        const whole = await this.cache.readPartial(name, partial, null);
        if (whole) return this.finish(name, url, partial, whole, partial.etag);
        await this.cache.dropPartial(name, partial);
        partial = null;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      }
      const { start, total } = announcedRange(res);
      if (res.status === 200 && offset > 0) {
        // The server ignored the range (or If-Range saw a new version): this response is the whole file.
        if (partial) await this.cache.dropPartial(name, partial);
        partial = null;
      } else if (start !== offset) {
        // A range we did not ask for: drop what we have and start over.
        await res.body?.cancel();
        if (partial) await this.cache.dropPartial(name, partial);
        partial = null;
        continue;
      }
      const etag = res.headers.get('ETag');
      const state: PartialFile = partial ?? { received: 0, chunks: [], total, etag };
      state.total ??= total;
      state.etag = etag ?? state.etag;
      // A file of known size is built in one buffer, kept across attempts; otherwise from its chunks.
      const reuse: boolean = buffer !== null && partial === state && buffer.length === state.total;
      const out: Uint8Array | null = reuse ? buffer : state.total !== null ? new Uint8Array(state.total) : null;
      buffer = out;
      const extra: Uint8Array[] = [];
      if (out && !reuse && state.received > 0) {
        const prior = await this.cache.readPartial(name, state, out);
        if (!prior) {
          await this.cache.dropPartial(name, state);
          partial = null;
          continue;
        }
      }
      try {
        await this.receive(name, url, res, state, out, extra);
      } catch (e) {
        lastError = e instanceof FolioError ? e : new NetworkError(url, `download interrupted (${(e as Error).message})`);
        partial = state;
        continue;
      }
      const bytes = out ?? (extra.length === state.chunks.length ? concat(extra) : await this.cache.readPartial(name, state, null));
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
  private async receive(name: string, url: string, res: Response, state: PartialFile, out: Uint8Array | null, extra: Uint8Array[]): Promise<void> {
    const reader = res.body!.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunk = concat(pending);
      pending = [];
      pendingBytes = 0;
      if (!out) extra.push(chunk);
      await this.cache.storeChunk(name, state, chunk);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (out) {
          if (state.received + pendingBytes + value.length > out.length) throw new NetworkError(url, 'the server sent more bytes than it announced');
          out.set(value, state.received + pendingBytes);
        }
        pending.push(value);
        pendingBytes += value.length;
        this.net.bytes += value.length;
        this.progress.received(name, value.length, state.received + pendingBytes, state.total ?? 0);
        if (pendingBytes >= this.settings.chunkBytes) await flush();
      }
    } finally {
      // Whatever arrived is kept, also when the response broke off: the next attempt resumes after it.
      await flush();
    }
  }

  /** Checks a whole file against a SHA-256 ETag, then reports it and enters it in the manifest. */
  private async finish(name: string, url: string, state: PartialFile, bytes: Uint8Array, etag: string | null): Promise<Uint8Array> {
    const sha256 = await sha256Hex(bytes);
    const expected = SHA_ETAG.exec(etag ?? '')?.[1];
    if (expected && expected !== sha256) {
      await this.cache.dropPartial(name, state);
      throw new NetworkError(url, `the file's SHA-256 ${sha256} is not the ${expected} its ETag promises`);
    }
    this.progress.finished(name, bytes.length, false);
    await this.cache.recordFile(name, { size: bytes.length, sha256, chunks: [...state.chunks] });
    return bytes;
  }
}

/** Where a response's body starts in the file, and the whole file's size (null when unknown). */
export function announcedRange(res: Response): { start: number; total: number | null } {
  const length = Number(res.headers.get('Content-Length') ?? NaN);
  if (res.status === 206) {
    const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get('Content-Range') ?? '');
    const start = m ? Number(m[1]) : NaN;
    return { start, total: m && m[3] !== '*' ? Number(m[3]) : Number.isFinite(length) ? start + length : null };
  }
  // A compressed body's length is not the file's.
  return { start: 0, total: Number.isFinite(length) && !res.headers.get('Content-Encoding') ? length : null };
}

/** The parts, one after another, in one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
