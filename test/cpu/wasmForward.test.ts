import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { WasmCpuBackend } from '../../src/cpu/wasm/WasmCpuBackend.ts';
import type { ForwardBatch } from '../../src/kv/batch.ts';
import { syntheticWeights } from '../../src/model/synthetic.ts';
import { prng } from '../gpu/randomModel.ts';
import { weightSummary } from '../../src/model/weightSummary.ts';
import { packWeights, relativeError } from './packWeights.ts';
import { expectSameLogits, opts, qwenish, steps } from './wasmSteps.ts';

describe('WebAssembly CPU forward against the TypeScript oracle', () => {
  const base = syntheticWeights(qwenish, prng(11), { std: 0.08 });
  it.each(['F32', 'F16', 'Q8_0', 'Q4_0'] as const)('%s weights: every step\'s logits within 1e-5 relative, and the same KV blocks', async (format) => {
    const w = format === 'F32' ? base : packWeights(base, format);
    const js = new CpuBackend(w, opts);
    const wasm = await WasmCpuBackend.create(w, opts);
    if (format !== 'F32') expect([...wasm.formats]).toContain(format.toLowerCase());
    // stats().weights.deviceBytes on this path: the packed bytes the memory holds, not their f32 width.
    expect(wasm.weightBytes).toBe(weightSummary(w).packedBytes);
    if (format !== 'F32') expect(wasm.weightBytes).toBeLessThan(weightSummary(w).f32Bytes * 0.6);
    for (const batch of steps()) {
      const [a, b] = [await js.forward(batch), await wasm.forward(batch)];
      expect(b.length).toBe(a.length);
      a.forEach((ref, i) => expect(relativeError(ref, b[i])).toBeLessThan(1e-5));
    }
    const ids = Array.from({ length: opts.numBlocks }, (_, i) => i);
    expect(relativeError(await js.readBlocks(ids), await wasm.readBlocks(ids))).toBeLessThan(1e-5);
  });

  it('copies, reads and writes whole blocks in CpuBackend\'s layout', async () => {
    const w = base;
    const wasm = await WasmCpuBackend.create(w, opts);
    const js = new CpuBackend(w, opts);
    const data = Float32Array.from({ length: 3 * qwenish.numLayers * 2 * qwenish.numKvHeads * opts.blockSize * qwenish.headDim }, (_, i) => Math.sin(i));
    await Promise.all([js.writeBlocks([4, 0, 9], data), wasm.writeBlocks([4, 0, 9], data)]);
    await Promise.all([js.copyBlocks([[4, 1], [9, 10]]), wasm.copyBlocks([[4, 1], [9, 10]])]);
    const ids = Array.from({ length: opts.numBlocks }, (_, i) => i);
    expect(await wasm.readBlocks(ids)).toEqual(await js.readBlocks(ids));
    // Decoding over the restored blocks reads them through the table like the oracle.
    const batch: ForwardBatch = { logits: 'last', chunks: [{ tokens: [7], startPos: 8, blockTable: [1, 0, 10] }] };
    expect(relativeError((await js.forward(batch))[0], (await wasm.forward(batch))[0])).toBeLessThan(1e-5);
    await expect(wasm.writeBlocks([0], new Float32Array(3))).rejects.toThrow(RangeError);
    await expect(wasm.readBlocks([16])).rejects.toThrow(/outside the cache/);
  });

  it('groups a step longer than rowsPerGroup without changing its logits', async () => {
    const w = packWeights(base, 'Q8_0');
    const small = await WasmCpuBackend.create(w, { ...opts, rowsPerGroup: 3 });
    const big = await WasmCpuBackend.create(w, opts);
    for (const batch of steps()) {
      const [a, b] = [await big.forward(batch), await small.forward(batch)];
      a.forEach((ref, i) => expect(b[i]).toEqual(ref));
    }
  });

  it('gives the same logits, bit for bit, with the matmuls split across 2 threads (workers over a shared memory)', async () => {
    for (const format of ['F32', 'Q4_0'] as const) {
      const w = format === 'F32' ? base : packWeights(base, format);
      const one = await WasmCpuBackend.create(w, opts);
      const two = await WasmCpuBackend.create(w, { ...opts, threads: 2, minSplitWeights: 0 }); // split every matmul
      expect(two.threadsDescription).toBe('2 threads');
      try {
        await expectSameLogits(one, two);
      } finally {
        two.dispose();
      }
    }
  });

  it('keeps a NaN in one sequence\'s row: its logits are not finite, the others in the same step are the oracle\'s', async () => {
    const tensors = new Map(base.tensors);
    const embed = tensors.get('model.embed_tokens.weight')!.slice();
    embed.fill(Number.NaN, 50 * qwenish.hiddenSize, 51 * qwenish.hiddenSize);
    tensors.set('model.embed_tokens.weight', embed);
    const w = { ...base, tensors };
    const batch: ForwardBatch = { logits: 'last', chunks: [[1, 2], [1, 50], [3, 4]].map((tokens, s) => ({ tokens, startPos: 0, blockTable: [s] })) };
    const [a, poisoned, c] = await (await WasmCpuBackend.create(w, opts)).forward(batch);
    const ref = await new CpuBackend(w, opts).forward(batch);
    expect(poisoned.some((v) => !Number.isFinite(v))).toBe(true);
    expect(relativeError(ref[0], a)).toBeLessThan(1e-5);
    expect(relativeError(ref[2], c)).toBeLessThan(1e-5);
  });

  it('refuses token ids outside the vocabulary, tables longer than the cache or too short, and block ids outside it; stays usable', async () => {
    const wasm = await WasmCpuBackend.create(base, opts);
    await expect(wasm.forward({ logits: 'last', chunks: [{ tokens: [96], startPos: 0, blockTable: [0] }] })).rejects.toThrow(/outside the vocabulary/);
    await expect(wasm.forward({ logits: 'last', chunks: [{ tokens: [1], startPos: 0, blockTable: new Array(17).fill(0) }] })).rejects.toThrow(/longer than the cache/);
    await expect(wasm.forward({ logits: 'last', chunks: [{ tokens: [1], startPos: 0, blockTable: [16] }] })).rejects.toThrow(/outside the cache/);
    await expect(wasm.forward({ logits: 'last', chunks: [{ tokens: [1, 2, 3, 4, 5], startPos: 0, blockTable: [0] }] })).rejects.toThrow(/past the block table/);
    const [logits] = await wasm.forward({ logits: 'last', chunks: [{ tokens: [1], startPos: 0, blockTable: [0] }] });
    expect(logits.every(Number.isFinite)).toBe(true);
  });
});
