import { sha256 } from '@noble/hashes/sha2.js';
import { FolioError, NetworkError } from '../errors.ts';
import type { FileStream } from '../model/ModelSource.ts';
import type { LoadProgress } from './LoadProgress.ts';
import type { ModelCache } from './ModelCache.ts';
import type { PartialFile } from './ModelManifest.ts';
import { announcedRange, concat, type DownloadSettings, type NetworkCounters, SHA_ETAG } from './ResumableDownload.ts';

export interface StreamDownloadContext {
  cache: ModelCache;
  progress: LoadProgress;
  net: NetworkCounters;
  settings: DownloadSettings;
}

/**
 * A download handed on as it arrives, stored in chunks on the way (ResumableDownload's layout,
 * so either resumes the other), and never assembled: the reader holds what it has not consumed,
 * this holds one chunk being stored. Bytes are handed on exactly once, in order: a response that
 * breaks off is resumed with `Range: bytes=N-` where N is what was handed on, and bytes stored by
 * an earlier load are handed on first. The SHA-256 is taken on the way and entered in the
 * manifest at the end (checked against an ETag that is one). A server that sends a new version
 * half-way through (If-Range answered with the whole file) fails the load: part of the old
 * version has been read.
 */
export async function streamDownload(ctx: StreamDownloadContext, name: string, url: string): Promise<FileStream> {
  const { cache, progress, net, settings } = ctx;
  const stored = await cache.loadPartial(name);
  const state: PartialFile = stored ?? { received: 0, chunks: [], total: null, etag: null };
  const hash = sha256.create();

  const request = async (offset: number): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (offset > 0) {
      headers.Range = `bytes=${offset}-`;
      if (state.etag) headers['If-Range'] = state.etag;
    }
    net.requests++;
    try {
      return await settings.fetchImpl(url, { headers });
    } catch (e) {
      throw new NetworkError(url, `request failed (${(e as Error).message})`);
    }
  };

  /** Stored chunks of an earlier, interrupted download: handed on while they read back whole. */
  async function* storedPrefix(): AsyncGenerator<Uint8Array> {
    const sizes = [...state.chunks];
    state.chunks = [];
    state.received = 0;
    for (let i = 0; i < sizes.length; i++) {
      const chunk = await cache.partialChunk(name, { ...state, chunks: sizes }, i);
      if (!chunk) break;
      state.chunks.push(chunk.length);
      state.received += chunk.length;
      hash.update(chunk);
      progress.received(name, chunk.length, state.received, state.total ?? 0);
      yield chunk;
    }
  }

  /** One response's body, handed on and stored in chunks of chunkBytes (what arrived is stored also when it breaks off). */
  async function* receive(res: Response, skip: number): AsyncGenerator<Uint8Array> {
    const reader = res.body!.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunk = pending.length === 1 ? pending[0] : concat(pending);
      pending = [];
      pendingBytes = 0;
      await cache.storeChunk(name, state, chunk);
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        net.bytes += value.length;
        // A server that ignored the range resends bytes already handed on.
        const drop = Math.min(skip, value.length);
        skip -= drop;
        const fresh = drop > 0 ? value.slice(drop) : value;
        if (fresh.length === 0) continue;
        if (state.total !== null && state.received + pendingBytes + fresh.length > state.total) throw new NetworkError(url, 'the server sent more bytes than it announced');
        hash.update(fresh);
        pending.push(fresh);
        pendingBytes += fresh.length;
        progress.received(name, fresh.length, state.received + pendingBytes, state.total ?? 0);
        yield fresh;
        if (pendingBytes >= settings.chunkBytes) await flush();
      }
    } finally {
      await flush();
      await reader.cancel().catch(() => undefined);
    }
  }

  let first: Response | null = null;
  if (state.received === 0) {
    first = await request(0);
    if (!first.ok) {
      await first.body?.cancel();
      throw new NetworkError(url, `HTTP ${first.status}${first.statusText ? ` ${first.statusText}` : ''}`);
    }
    state.total = announcedRange(first).total;
    state.etag = first.headers.get('ETag');
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (stored) yield* storedPrefix();
    let lastError: Error | null = null;
    let complete = state.total !== null && state.received === state.total;
    for (let attempt = 0; attempt < settings.attempts && !complete; attempt++) {
      let res: Response;
      try {
        res = first ?? (await request(state.received));
      } catch (e) {
        lastError = e as Error;
        continue;
      } finally {
        first = null;
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 416 && state.total === state.received) {
          complete = true;
          break;
        }
        throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      }
      const { start, total } = announcedRange(res);
      let skip = 0;
      if (state.received > 0 && res.status === 200) {
        const newVersion = state.etag !== null && res.headers.get('ETag') !== state.etag;
        if (newVersion) {
          await res.body?.cancel();
          throw new NetworkError(url, 'the file changed on the server during the download; load again');
        }
        skip = state.received;
      } else if (res.status === 206 && start !== state.received) {
        await res.body?.cancel();
        throw new NetworkError(url, `asked for bytes from ${state.received}, the server sent them from ${start}`);
      }
      state.total ??= total;
      try {
        yield* receive(res, skip);
      } catch (e) {
        lastError = e instanceof FolioError ? e : new NetworkError(url, `download interrupted (${(e as Error).message})`);
        continue;
      }
      complete = state.total === null || state.received === state.total;
      if (!complete) lastError = new NetworkError(url, `download ended at ${state.received} of ${state.total} bytes`);
    }
    if (!complete) throw lastError ?? new NetworkError(url, 'download failed');
    const digest = Array.from(hash.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
    const expected = SHA_ETAG.exec(state.etag ?? '')?.[1];
    if (expected && expected !== digest) {
      await cache.dropPartial(name, state);
      throw new NetworkError(url, `the file's SHA-256 ${digest} is not the ${expected} its ETag promises`);
    }
    progress.finished(name, state.received, false);
    await cache.recordFile(name, { size: state.received, sha256: digest, chunks: [...state.chunks] });
  }

  return { size: state.total, chunks: chunks() };
}
