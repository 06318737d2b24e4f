import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';
import { PeakMeter } from '../../src/gguf/PeakMeter.ts';
import { sha256Hex } from '../../src/model/sha256.ts';
import { ggufSource, UrlSource } from '../../src/model/ModelSource.ts';
import { CachedSource, type DownloadProgress } from '../../src/storage/CachedSource.ts';
import { MemoryStore } from '../../src/storage/KeyValueStore.ts';
import { manifestKey, type ModelManifest } from '../../src/storage/ModelManifest.ts';
import { GGUF_DIR } from '../gguf/ggufFiles.ts';
import { type ModelServer, startModelServer } from './modelServer.ts';

const FILE = 'rand256-Q4_0.gguf';
const SMALL = 'stories260K-Q8_0.gguf';
const bytes = readFileSync(join(GGUF_DIR, FILE));

/** A GGUF file through the IndexedDB cache (a Map here), streamed: downloaded and stored as it is read. */
describe('CachedSource streams a GGUF file into the loader', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer(GGUF_DIR);
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    server.log.length = 0;
    server.ignoreRanges = false;
  });

  const open = (store: MemoryStore, progress?: DownloadProgress[], file = FILE, attempts = 4) => {
    const cached = new CachedSource(new UrlSource(server.modelUrl), { store, chunkBytes: 64 * 1024, attempts, modelKey: `${server.modelUrl}/${file}`, onProgress: (p) => progress?.push(p) });
    return { cached, source: ggufSource(cached, file) };
  };
  const gets = (file = FILE) => server.log.filter((r) => r.file === file && r.method === 'GET');

  it('downloads once while loading (never holding the file), stores it checksummed, then loads from the store alone', async () => {
    const store = new MemoryStore();
    const first = open(store);
    const meter = new PeakMeter();
    const a = await loadAnyModel(first.source, { meter });
    await first.cached.commit(a.weights.fingerprint);
    expect(gets().map((r) => [r.status, r.range])).toEqual([[200, null]]);
    expect(meter.peak).toBeLessThan(meter.held + bytes.length / 2);
    const manifest = store.map.get(manifestKey(first.cached.model)) as ModelManifest;
    expect(manifest.files[FILE]).toMatchObject({ size: bytes.length, sha256: await sha256Hex(bytes) });

    server.log.length = 0;
    const second = open(store);
    const b = await loadAnyModel(second.source);
    expect(server.log).toEqual([]);
    expect(second.cached.fromCache).toBe(true);
    expect(b.weights.fingerprint).toBe(a.weights.fingerprint);
  });

  it('a response cut half-way resumes with a Range request from the bytes already read, in the same load', async () => {
    const store = new MemoryStore();
    server.cutNext(SMALL, 150_000);
    const { source } = open(store, undefined, SMALL);
    const cut = await loadAnyModel(source);
    expect(gets(SMALL).map((r) => [r.status, r.range])).toEqual([[200, null], [206, 'bytes=150000-']]);
    expect(gets(SMALL).reduce((n, r) => n + r.bytes, 0)).toBe(readFileSync(join(GGUF_DIR, SMALL)).length);
    const whole = await loadAnyModel(open(new MemoryStore(), undefined, SMALL).source);
    expect(cut.weights.fingerprint).toBe(whole.weights.fingerprint);
  });

  it('a load cut short resumes in the next load from the stored bytes; a server that ignores ranges resends, and the resent bytes are skipped', async () => {
    const size = readFileSync(join(GGUF_DIR, SMALL)).length;
    const reference = await loadAnyModel(open(new MemoryStore(), undefined, SMALL).source);
    const store = new MemoryStore();
    server.cutNext(SMALL, 150_000);
    await expect(loadAnyModel(open(store, undefined, SMALL, 1).source)).rejects.toThrow(/interrupted/);
    server.log.length = 0;
    const resumed = await loadAnyModel(open(store, undefined, SMALL).source);
    expect(gets(SMALL).map((r) => [r.status, r.range, r.bytes])).toEqual([[206, 'bytes=150000-', size - 150_000]]);
    expect(resumed.weights.fingerprint).toBe(reference.weights.fingerprint);

    server.log.length = 0;
    server.ignoreRanges = true;
    server.cutNext(SMALL, 100_000);
    const resent = await loadAnyModel(open(new MemoryStore(), undefined, SMALL).source);
    expect(gets(SMALL).map((r) => [r.status, r.range])).toEqual([[200, null], [200, 'bytes=100000-']]);
    expect(resent.weights.fingerprint).toBe(reference.weights.fingerprint);
  });

  it('a cached file that fails its checksum is dropped and downloaded again, with a warning', async () => {
    const store = new MemoryStore();
    const first = open(store, undefined, SMALL);
    const a = await loadAnyModel(first.source);
    const key = [...store.map.keys()].find((k) => k.startsWith('c:') && k.endsWith(`|${SMALL}|3`))!;
    (store.map.get(key) as Uint8Array)[10] ^= 0xff;
    server.log.length = 0;
    const progress: DownloadProgress[] = [];
    const b = await loadAnyModel(open(store, progress, SMALL).source);
    expect(progress.some((p) => /checksum/.test(p.warning ?? ''))).toBe(true);
    expect(gets(SMALL)).toHaveLength(1);
    expect(b.weights.fingerprint).toBe(a.weights.fingerprint);
  });
});
