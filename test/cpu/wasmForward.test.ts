import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { WasmCpuBackend } from '../../src/cpu/wasm/WasmCpuBackend.ts';
import type { ForwardBatch } from '../../src/kv/batch.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { syntheticWeights } from '../../src/model/synthetic.ts';
import { prng, storiesConfig } from '../gpu/randomModel.ts';
import { packWeights, relativeError } from './packWeights.ts';

/** Grouped-query attention, biases (Qwen2), an untied head, and sizes that are whole q8_0/q4_0 blocks. */
const qwenish: ModelConfig = { ...storiesConfig, modelType: 'qwen2', hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 96, qkvBias: true, tieWordEmbeddings: false };
const opts = { blockSize: 4, numBlocks: 16 };

/**
 * Steps of three sequences with scrambled, disjoint block tables: a mixed step of two prefills, then
 * batched decode steps (all three, then two), so that the matmul's 4-row tiles and its single rows
 * both run, and prefill spans blocks.
 */
function steps(): ForwardBatch[] {
  const tables = [[9, 2, 14, 5], [0, 11, 7, 3], [12, 1, 6, 15]];
  const prompts = [[1, 5, 9, 13, 17, 21, 25], [1, 40, 41]];
  const out: ForwardBatch[] = [{ logits: 'all', chunks: prompts.map((tokens, s) => ({ tokens, startPos: 0, blockTable: tables[s] })) }];
  out.push({ logits: 'last', chunks: [{ tokens: [1, 2, 3, 4, 5, 6], startPos: 0, blockTable: tables[2] }] });
  const len = [7, 3, 6];
  for (let step = 0; step < 4; step++) {
    const seqs = step < 2 ? [0, 1, 2] : [0, 2];
    out.push({ logits: 'last', chunks: seqs.map((s) => ({ tokens: [(s * 31 + step * 7) % 90], startPos: len[s]++, blockTable: tables[s] })) });
  }
  return out;
}

describe('WebAssembly CPU forward against the TypeScript oracle', () => {
  const base = syntheticWeights(qwenish, prng(11), { std: 0.08 });
  it.each(['F32', 'F16', 'Q8_0', 'Q4_0'] as const)('%s weights: every step\'s logits within 1e-5 relative, and the same KV blocks', async (format) => {
    const w = format === 'F32' ? base : packWeights(base, format);
    const js = new CpuBackend(w, opts);
    const wasm = await WasmCpuBackend.create(w, opts);
    if (format !== 'F32') expect([...wasm.formats]).toContain(format.toLowerCase());
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
        for (const batch of steps()) {
          const [a, b] = [await one.forward(batch), await two.forward(batch)];
          a.forEach((ref, i) => expect(b[i]).toEqual(ref));
        }
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
