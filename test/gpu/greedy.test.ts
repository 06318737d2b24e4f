import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { blocksFor, type SequenceChunk } from '../../src/kv/batch.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import type { KernelSet } from '../../src/gpu/kernelSet.ts';
import { KERNEL_SETS } from './kernelSets.ts';
import { argmax, prng, qwenLikeConfig, randomTokens, randomWeights, scrambledBlocks } from './randomModel.ts';

const config = qwenLikeConfig;
const weights = randomWeights(config, 31);
const backends: GpuBackend[] = [];
afterAll(() => backends.forEach((b) => b.dispose()));

/** Greedy generation for 3 sequences batched together, argmax on the GPU. */
async function generate(blockSize: number, steps: number, kernels: KernelSet): Promise<number[][]> {
  const rand = prng(7);
  const prompts = [5, 30, 61].map((n) => randomTokens(rand, n, config.vocabSize));
  const numBlocks = 3 * blocksFor(61 + steps, blockSize);
  const free = Array.from({ length: numBlocks }, (_, i) => i);
  const tables = prompts.map(() => scrambledBlocks(rand, free, blocksFor(61 + steps, blockSize)));
  const gpu = await GpuBackend.create(weights, { blockSize, numBlocks, gpu: dawnGpu(), kernels });
  backends.push(gpu);
  const seqs = prompts.map((p) => [...p]);
  const cached = prompts.map(() => 0);
  for (let s = 0; s < steps; s++) {
    const chunks: SequenceChunk[] = seqs.map((t, i) => ({ tokens: t.slice(cached[i]), startPos: cached[i], blockTable: tables[i] }));
    const ids = await gpu.forwardGreedy({ chunks, logits: 'all' });
    ids.forEach((id, i) => {
      cached[i] = seqs[i].length;
      seqs[i].push(id);
    });
  }
  return seqs.map((t, i) => t.slice(prompts[i].length));
}

describe.each(KERNEL_SETS)('greedy decoding on the GPU, %s kernels', (kernels) => {
  it('gives identical tokens at block sizes 8, 16 and 32, and matches the CPU', async () => {
    const steps = 6;
    const outs = [];
    for (const bs of [8, 16, 32]) outs.push(await generate(bs, steps, kernels));
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);

    const rand = prng(7);
    const prompts = [5, 30, 61].map((n) => randomTokens(rand, n, config.vocabSize));
    const cpu = new CpuBackend(weights, { blockSize: 16, numBlocks: 6 });
    for (const [i, p] of prompts.entries()) {
      const table = [0, 1, 2, 3, 4, 5];
      const seq = [...p];
      let cached = 0;
      for (let s = 0; s < steps; s++) {
        const [l] = await cpu.forward({ chunks: [{ tokens: seq.slice(cached), startPos: cached, blockTable: table }], logits: 'last' });
        cached = seq.length;
        seq.push(argmax(l));
      }
      expect(seq.slice(p.length)).toEqual(outs[0][i]);
    }
  });
});
