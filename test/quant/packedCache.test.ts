import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadModel } from '../../src/model/loadModel.ts';
import { UrlSource } from '../../src/model/ModelSource.ts';
import * as quantizeModule from '../../src/quant/quantizeModel.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { CachedSource } from '../../src/storage/CachedSource.ts';
import { MemoryStore } from '../../src/storage/KeyValueStore.ts';
import { packedKey } from '../../src/storage/packedKey.ts';
import { deleteCachedModel } from '../../src/storage/cacheAdmin.ts';
import { KvBlockStore } from '../../src/storage/KvBlockStore.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { type ModelServer, startModelServer } from '../storage/modelServer.ts';
import type { ModelWeights } from '../../src/model/weights.ts';

// quantizeModel as loadModel calls it, counted: the second load must not call it.
vi.mock('../../src/quant/quantizeModel.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/quant/quantizeModel.ts')>();
  return { ...real, quantizeModel: vi.fn(real.quantizeModel) };
});
const quantizeCalls = () => vi.mocked(quantizeModule.quantizeModel).mock.calls.length;

function expectSameWeights(a: ModelWeights, b: ModelWeights): void {
  expect(b.fingerprint).toBe(a.fingerprint);
  expect(b.config).toEqual(a.config);
  expect([...b.packed!.keys()].sort()).toEqual([...a.packed!.keys()].sort());
  for (const [name, t] of a.packed!) {
    const u = b.packed!.get(name)!;
    expect({ ...u, bytes: null }, name).toEqual({ ...t, bytes: null });
    expect(Buffer.from(u.bytes).equals(t.bytes), name).toBe(true);
  }
  expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
  for (const [name, t] of a.tensors) expect(Buffer.from(b.tensors.get(name)!.buffer, b.tensors.get(name)!.byteOffset, t.byteLength).equals(Buffer.from(t.buffer, t.byteOffset, t.byteLength)), name).toBe(true);
}

/** Quantize-on-load through the IndexedDB cache (a Map here, as in test/storage). */
describe('quantize-on-load results are cached packed', () => {
  let server: ModelServer;
  beforeAll(async () => {
    server = await startModelServer(DEFAULT_MODEL);
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    server.log.length = 0;
  });
  const open = (store: MemoryStore) => new CachedSource(new UrlSource(server.modelUrl), { store, chunkBytes: 32 * 1024 });

  it('a second load with the same option reads the packed bytes: no quantizing, no tensor file read, the same output', async () => {
    const store = new MemoryStore();
    const first = open(store);
    const before = quantizeCalls();
    const a = await loadModel(first, { weights: 'q4_0' });
    await first.commit(a.weights.fingerprint);
    expect(quantizeCalls()).toBe(before + 1);
    expect([...store.map.keys()].some((k) => k.startsWith('q:'))).toBe(true);

    server.log.length = 0;
    const second = open(store);
    const b = await loadModel(second, { weights: 'q4_0' });
    expect(quantizeCalls()).toBe(before + 1);
    expect(server.log).toEqual([]);
    expectSameWeights(a.weights, b.weights);
    const tokenizer = Tokenizer.fromJson(b.tokenizerJson, b.tokenizerConfig);
    const prompt = tokenizer.encode('Once upon a time');
    expect(await cpuGreedy(b.weights, prompt, 12)).toEqual(await cpuGreedy(a.weights, prompt, 12));

    // another option is another entry: quantized again, and kept beside the first
    const c = await loadModel(open(store), { weights: 'q8_0' });
    expect(quantizeCalls()).toBe(before + 2);
    expect(c.weights.packed!.get('model.layers.0.self_attn.q_proj.weight')!.format).toBe('Q8_0');
    const again = await loadModel(open(store), { weights: 'q4_0' });
    expect(quantizeCalls()).toBe(before + 2);
    expect(again.weights.packed!.get('model.layers.0.self_attn.q_proj.weight')!.format).toBe('Q4_0');

    // f32 is not quantized and not stored; deleting the model deletes its quantized results
    await loadModel(open(store), { weights: 'f32' });
    expect(quantizeCalls()).toBe(before + 2);
    await deleteCachedModel(store, new KvBlockStore(new MemoryStore()), first.model);
    expect([...store.map.keys()].filter((k) => k.startsWith('q:'))).toEqual([]);
  });

  it('a stored result that fails its checksum is dropped and the model quantized again', async () => {
    const store = new MemoryStore();
    const first = open(store);
    const a = await loadModel(first, { weights: 'q4_0' });
    await first.commit(a.weights.fingerprint);
    const chunk = [...store.map.entries()].find(([k, v]) => k.startsWith('q:') && v instanceof Uint8Array && v.length > 100)!;
    (chunk[1] as Uint8Array)[50] ^= 0xff;
    const before = quantizeCalls();
    const b = await loadModel(open(store), { weights: 'q4_0' });
    expect(quantizeCalls()).toBe(before + 1);
    expectSameWeights(a.weights, b.weights);
  });

  it('the key names the option and every source file\'s bytes', async () => {
    const files: [string, string][] = [['config.json', 'aa'], ['model.safetensors', 'bb']];
    const key = await packedKey('q4_0', files);
    expect(await packedKey('q4_0', [...files].reverse())).toBe(key);
    expect(await packedKey('q8_0', files)).not.toBe(key);
    expect(await packedKey('q4_0', [['config.json', 'aa'], ['model.safetensors', 'bc']])).not.toBe(key);
    expect(await packedKey('q4_0', [['config.json', 'ab'], ['model.safetensors', 'bb']])).not.toBe(key);
    expect(await packedKey('q4_0', [...files, ['model.safetensors.index.json', 'cc']])).not.toBe(key);
    expect(await packedKey('q4_0', [['config.json', 'aa'], ['model.safetensors', null]])).toBeNull();
  });
});
