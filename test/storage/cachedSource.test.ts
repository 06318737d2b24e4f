import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/loadModel.ts';
import { UrlSource } from '../../src/model/ModelSource.ts';
import { CachedSource, type DownloadProgress } from '../../src/storage/CachedSource.ts';
import { MemoryStore, withQuota } from '../../src/storage/KeyValueStore.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { type ModelServer, startModelServer } from './modelServer.ts';

const WEIGHTS = 'model.safetensors';
const size = readFileSync(`${DEFAULT_MODEL}/${WEIGHTS}`).length;

describe('CachedSource (Node, a Map for IndexedDB, a local HF-layout server)', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer(DEFAULT_MODEL);
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    server.log.length = 0;
    server.ignoreRanges = false;
  });

  const open = (store: MemoryStore | ReturnType<typeof withQuota>, progress?: DownloadProgress[]) =>
    new CachedSource(new UrlSource(server.modelUrl), { store, chunkBytes: 128 * 1024, onProgress: (p) => progress?.push(p) });

  it('downloads with byte progress, then loads a second time with no request at all', async () => {
    const store = new MemoryStore();
    const progress: DownloadProgress[] = [];
    const first = open(store, progress);
    const a = await loadModel(first);
    await first.commit(a.weights.fingerprint);
    expect(server.log.some((r) => r.file === WEIGHTS && r.method === 'GET')).toBe(true);
    const w = progress.filter((p) => p.file === WEIGHTS);
    expect(w.length).toBeGreaterThan(2);
    expect(w.at(-1)).toMatchObject({ bytesLoaded: size, bytesTotal: size, fromCache: false });
    // Chunks of 128 KiB: the file is stored in pieces, not as one value.
    expect([...store.map.keys()].filter((k) => k.startsWith('c:')).length).toBeGreaterThanOrEqual(Math.ceil(size / (128 * 1024)));

    server.log.length = 0;
    const second = open(store);
    const b = await loadModel(second);
    expect(server.log).toEqual([]);
    expect(second.net.requests).toBe(0);
    expect(b.weights.fingerprint).toBe(a.weights.fingerprint);
  });

  it('resumes a download cut half-way with a Range request', async () => {
    const store = new MemoryStore();
    server.cutNext(WEIGHTS, Math.floor(size / 2));
    const src = open(store);
    const bytes = await src.fetchFile(WEIGHTS);
    expect(Buffer.from(bytes).equals(readFileSync(`${DEFAULT_MODEL}/${WEIGHTS}`))).toBe(true);
    const gets = server.log.filter((r) => r.file === WEIGHTS);
    expect(gets.map((r) => [r.status, r.range])).toEqual([[200, null], [206, `bytes=${Math.floor(size / 2)}-`]]);
    const fetched = gets.reduce((n, r) => n + r.bytes, 0);
    expect(fetched).toBe(size);
  });

  it('resumes in a later load (a reload) from the stored byte offset', async () => {
    const store = new MemoryStore();
    server.cutNext(WEIGHTS, 300_000);
    const first = new CachedSource(new UrlSource(server.modelUrl), { store, chunkBytes: 128 * 1024, attempts: 1 });
    await expect(first.fetchFile(WEIGHTS)).rejects.toThrow(/interrupted|ended/);
    const second = open(store);
    const bytes = await second.fetchFile(WEIGHTS);
    expect(bytes.length).toBe(size);
    const ranges = server.log.filter((r) => r.file === WEIGHTS).map((r) => r.range);
    expect(ranges).toEqual([null, 'bytes=300000-']);
  });

  it('falls back to a whole download when the server answers a range with 200', async () => {
    const store = new MemoryStore();
    server.cutNext(WEIGHTS, 200_000);
    server.ignoreRanges = true;
    const bytes = await open(store).fetchFile(WEIGHTS);
    expect(Buffer.from(bytes).equals(readFileSync(`${DEFAULT_MODEL}/${WEIGHTS}`))).toBe(true);
    expect(server.log.filter((r) => r.file === WEIGHTS).map((r) => [r.status, r.range])).toEqual([[200, null], [200, 'bytes=200000-']]);
  });

  it('detects a corrupted chunk by its SHA-256, drops it and fetches the file again', async () => {
    const store = new MemoryStore();
    const first = open(store);
    await first.fetchFile(WEIGHTS);
    const key = [...store.map.keys()].find((k) => k.startsWith('c:') && k.includes(WEIGHTS))!;
    const chunk = store.map.get(key) as Uint8Array;
    chunk[100] ^= 0xff;
    server.log.length = 0;
    const progress: DownloadProgress[] = [];
    const bytes = await open(store, progress).fetchFile(WEIGHTS);
    expect(Buffer.from(bytes).equals(readFileSync(`${DEFAULT_MODEL}/${WEIGHTS}`))).toBe(true);
    expect(progress.some((p) => /checksum/.test(p.warning ?? ''))).toBe(true);
    expect(server.log.filter((r) => r.file === WEIGHTS && r.method === 'GET')).toHaveLength(1);
    // Stored again, good this time.
    server.log.length = 0;
    await open(store).fetchFile(WEIGHTS);
    expect(server.log).toEqual([]);
  });

  it('a full quota loads without caching, with a warning, never a failure', async () => {
    const store = withQuota(new MemoryStore(), 300_000);
    const progress: DownloadProgress[] = [];
    const src = open(store as MemoryStore, progress);
    const m = await loadModel(src);
    await src.commit(m.weights.fingerprint);
    expect(m.weights.config.numLayers).toBeGreaterThan(0);
    expect(src.warning).toMatch(/quota/);
    expect(progress.some((p) => /quota/.test(p.warning ?? ''))).toBe(true);
  });
});
