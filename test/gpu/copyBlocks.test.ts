import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import type { ForwardBatch } from '../../src/kv/batch.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { ComputeError } from '../../src/errors.ts';
import { copyPlanViolation } from '../../src/kv/copyPlan.ts';
import { NO_RESERVE } from '../../src/scheduler/reserve.ts';
import { type Job, promptOf, runJobs } from '../../src/scheduler/testing/workload.ts';
import { maxAbsDiff, prng, randomArray, randomTokens, randomWeights, storiesConfig } from './randomModel.ts';

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

  it('both backends refuse, typed, a plan that is not a set of independent copies (src/kv/copyPlan.ts)', async () => {
    const weights = randomWeights(storiesConfig, 42);
    const gpu = await GpuBackend.create(weights, { blockSize: 8, numBlocks: 4, gpu: dawnGpu() });
    backends.push(gpu);
    const cpu = new CpuBackend(weights, { blockSize: 8, numBlocks: 4 });
    for (const backend of [gpu, cpu]) {
      await expect(backend.copyBlocks([[0, 1], [1, 2]])).rejects.toThrow(ComputeError);
      await expect(backend.copyBlocks([[0, 1], [1, 2]])).rejects.toThrow(/both copied from and copied to/);
      await expect(backend.copyBlocks([[0, 2], [1, 2]])).rejects.toThrow(/copied to twice/);
      await expect(backend.copyBlocks([[0, 4]])).rejects.toThrow(/outside the cache/);
      await backend.copyBlocks([]);
    }
  });

  it("runs every copy plan of 80 streams with n = 1 + i % 3 on 24 blocks alike on both backends, as the plan's order-free meaning says", async () => {
    // The workload of issue 10, item 3, on the scheduler with a stand-in model: its plans.
    const jobs: Job[] = Array.from({ length: 80 }, (_, i) => ({ id: `r${i}`, prompt: promptOf(5 + ((i * 7) % 40), i), maxTokens: 60, n: 1 + (i % 3) }));
    const numBlocks = 24;
    const run = runJobs(jobs, { numBlocks, blockSize: 16, maxBatchTokens: 256, reserve: NO_RESERVE }); // preemptions mid-copy are the case
    const plans = run.plans.filter((p) => p.copies.length > 0);
    expect(plans.length).toBeGreaterThan(10);
    expect(run.plans.some((p) => p.preempted.length > 0 && p.copies.length > 1)).toBe(true);
    const weights = randomWeights(storiesConfig, 43);
    const gpu = await GpuBackend.create(weights, { blockSize: 16, numBlocks, gpu: dawnGpu() });
    backends.push(gpu);
    const cpu = new CpuBackend(weights, { blockSize: 16, numBlocks });
    const all = Array.from({ length: numBlocks }, (_, b) => b);
    const start = randomArray(prng(44), (await cpu.readBlocks(all)).length);
    await gpu.writeBlocks(all, start);
    await cpu.writeBlocks(all, start);
    // What the plan means: every copy reads its source as it was before the step.
    const per = start.length / numBlocks;
    const want = start.slice();
    for (const plan of plans) {
      expect(copyPlanViolation(plan.copies, numBlocks)).toBeNull();
      const before = want.slice();
      for (const [src, dst] of plan.copies) want.set(before.subarray(src * per, (src + 1) * per), dst * per);
      await gpu.copyBlocks(plan.copies);
      await cpu.copyBlocks(plan.copies);
    }
    expect(await cpu.readBlocks(all)).toEqual(want);
    expect(await gpu.readBlocks(all)).toEqual(want);
  });
});
