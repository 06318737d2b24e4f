import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import type { ForwardBatch } from '../../src/kv/batch.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { maxAbsDiff, prng, randomTokens, randomWeights, storiesConfig } from './randomModel.ts';

const backends: GpuBackend[] = [];
afterAll(() => backends.forEach((b) => b.dispose()));

describe('copyBlocks (copy-on-write)', () => {
  it('forks a sequence whose last block is partly filled, as the CPU does', async () => {
    const weights = randomWeights(storiesConfig, 41);
    const opts = { blockSize: 8, numBlocks: 8 };
    const gpu = await GpuBackend.create(weights, { ...opts, gpu: dawnGpu() });
    backends.push(gpu);
    const cpu = new CpuBackend(weights, opts);
    const prompt = randomTokens(prng(3), 20, storiesConfig.vocabSize); // blocks 5, 2, 6 (the last holds 4)
    const parent = [5, 2, 6];
    const child = [5, 2, 7]; // shares the full blocks, copies the partial one
    const prefill: ForwardBatch = { chunks: [{ tokens: prompt, startPos: 0, blockTable: parent }], logits: 'last' };
    await gpu.forward(prefill);
    await cpu.forward(prefill);
    await gpu.copyBlocks([[6, 7]]);
    await cpu.copyBlocks([[6, 7]]);
    // Both continue, with different tokens, in one batch.
    const next: ForwardBatch = {
      chunks: [
        { tokens: [10, 11], startPos: 20, blockTable: parent },
        { tokens: [12], startPos: 20, blockTable: child },
      ],
      logits: 'all',
    };
    const g = await gpu.forward(next);
    const c = await cpu.forward(next);
    expect(maxAbsDiff(g[0], c[0])).toBeLessThan(1e-4);
    expect(maxAbsDiff(g[1], c[1])).toBeLessThan(1e-4);
  });

  it('refuses pairs that overlap or leave the cache', async () => {
    const gpu = await GpuBackend.create(randomWeights(storiesConfig, 42), { blockSize: 8, numBlocks: 4, gpu: dawnGpu() });
    backends.push(gpu);
    await expect(gpu.copyBlocks([[0, 1], [1, 2]])).rejects.toThrow(/both copied to and from/);
    await expect(gpu.copyBlocks([[0, 4]])).rejects.toThrow(/outside the cache/);
    await gpu.copyBlocks([]);
  });
});
