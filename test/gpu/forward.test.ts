import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import type { SequenceChunk } from '../../src/kv/batch.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { KERNEL_SETS } from './kernelSets.ts';
import { maxAbsDiff, prng, qwenLikeConfig, randomTokens, randomWeights, scrambledBlocks, storiesConfig } from './randomModel.ts';

const backends: GpuBackend[] = [];
afterAll(() => backends.forEach((b) => b.dispose()));

const variants = [
  { name: 'stories260K shape (tied embeddings)', config: storiesConfig, seed: 11 },
  { name: 'GQA 4:1 + qkv bias + llama3 RoPE scaling + untied LM head', config: qwenLikeConfig, seed: 12 },
].flatMap((v) => [...KERNEL_SETS.map((kernels) => ({ ...v, kernels, gpuShapes: false })), { ...v, kernels: 'gpu' as const, gpuShapes: true }]);

// gpuShapes: the 'gpu' set as a real GPU runs it (fused norms, wide GEMV, tiled GEMM, GPU
// attention layout); without it SwiftShader gets the set's barrier-free CPU-adapter shapes.
describe.each(variants)('whole forward pass: $name, $kernels kernels (GPU shapes: $gpuShapes)', ({ config, seed, kernels, gpuShapes }) => {
  it('gives the reference logits at every position, over chunked prefill and decode', async () => {
    const weights = randomWeights(config, seed);
    const blockSize = 8;
    const numBlocks = 16;
    const gpu = await GpuBackend.create(weights, { blockSize, numBlocks, gpu: dawnGpu(), kernels, gpuShapes });
    backends.push(gpu);
    expect(gpu.kernelSet).toBe(kernels);
    if (kernels === 'gpu') expect(gpu.flash!.flash.wholeHead).toBe(!gpuShapes);
    const cpu = new CpuBackend(weights, { blockSize, numBlocks });
    const rand = prng(seed);
    const prompt = randomTokens(rand, 40, config.vocabSize);
    const table = scrambledBlocks(rand, Array.from({ length: numBlocks }, (_, i) => i), 6);
    // Prefill in chunks of 13, 20 and 7 tokens, then two decode steps.
    const pieces: Array<[number, number]> = [[0, 13], [13, 33], [33, 40]];
    let worst = 0;
    for (const [a, b] of pieces) {
      const chunk: SequenceChunk = { tokens: prompt.slice(a, b), startPos: a, blockTable: table };
      const [g] = await gpu.forward({ chunks: [chunk], logits: 'all' });
      const [c] = await cpu.forward({ chunks: [chunk], logits: 'all' });
      expect(g.length).toBe((b - a) * config.vocabSize);
      worst = Math.max(worst, maxAbsDiff(g, c));
    }
    for (const [pos, token] of [[40, 7], [41, 300]]) {
      const chunk: SequenceChunk = { tokens: [token], startPos: pos, blockTable: table };
      const [g] = await gpu.forward({ chunks: [chunk], logits: 'last' });
      const [c] = await cpu.forward({ chunks: [chunk], logits: 'last' });
      worst = Math.max(worst, maxAbsDiff(g, c));
    }
    console.log(`max |gpu - cpu| logit error (${config.modelType}): ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('batch checks', () => {
  it('rejects a block table that does not cover the chunk, and out-of-range ids', async () => {
    const weights = randomWeights(storiesConfig, 1);
    const gpu = await GpuBackend.create(weights, { blockSize: 8, numBlocks: 4, gpu: dawnGpu() });
    backends.push(gpu);
    await expect(gpu.forward({ chunks: [{ tokens: Array(9).fill(3), startPos: 0, blockTable: [0] }], logits: 'last' })).rejects.toThrow(/past the block table/);
    await expect(gpu.forward({ chunks: [{ tokens: [3], startPos: 0, blockTable: [4] }], logits: 'last' })).rejects.toThrow(/outside the cache/);
    await expect(gpu.forward({ chunks: [{ tokens: [512], startPos: 0, blockTable: [0] }], logits: 'last' })).rejects.toThrow(/outside the vocabulary/);
    await expect(
      gpu.forward({ chunks: [{ tokens: [3], startPos: 0, blockTable: [0] }, { tokens: [4], startPos: 0, blockTable: [0] }], logits: 'last' }),
    ).rejects.toThrow(/written twice/);
    expect(await gpu.forward({ chunks: [], logits: 'last' })).toEqual([]);
    // The backend still works after refusing.
    const [l] = await gpu.forward({ chunks: [{ tokens: [3], startPos: 0, blockTable: [1] }], logits: 'last' });
    expect(l.length).toBe(512);
  });
});
