import { describe, expect, it } from 'vitest';
import { ContextLengthError, InvalidParamsError, KvCacheFullError } from '../errors.ts';
import { blocksFor } from '../kv/batch.ts';
import { NO_RESERVE } from './reserve.ts';
import { Scheduler } from './Scheduler.ts';
import { requestUsage } from './Sequence.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { drive } from './testing/drive.ts';
import { type Job, promptOf, rng, runJobs } from './testing/workload.ts';

const greedy = (j: Job) => FakePagedModel.greedy(j.prompt, j.maxTokens);

function mixedJobs(count: number, seed: number): Job[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `r${i}`,
    prompt: promptOf(1 + Math.floor(r() * 300), seed * 1000 + i),
    maxTokens: 1 + Math.floor(r() * 40),
    at: Math.floor(r() * 30),
  }));
}

describe('Scheduler: continuous batching', () => {
  it('serves one request as the model would greedily', () => {
    const job = { id: 'a', prompt: promptOf(37, 1), maxTokens: 20 };
    const { outputs, scheduler } = runJobs([job], { numBlocks: 16, blockSize: 16 });
    expect(outputs.get('a')).toEqual(greedy(job));
    expect(scheduler.stats().blocksUsed).toBe(0);
  });

  it('gives concurrent requests the same tokens as alone', () => {
    const jobs = mixedJobs(16, 7);
    const together = runJobs(jobs, { numBlocks: 512, blockSize: 16, maxBatchTokens: 256 });
    expect(Math.max(...together.plans.map((p) => p.chunks.length))).toBeGreaterThan(4);
    for (const job of jobs) {
      const alone = runJobs([{ ...job, at: 0 }], { numBlocks: 512, blockSize: 16, maxBatchTokens: 256 });
      expect(together.outputs.get(job.id)).toEqual(alone.outputs.get(job.id));
      expect(together.outputs.get(job.id)).toEqual(greedy(job));
    }
  });

  it('decodes every running sequence first, then prefills long prompts in chunks within the budget', () => {
    const jobs = [
      { id: 'short', prompt: promptOf(10, 2), maxTokens: 30 },
      { id: 'long', prompt: promptOf(1000, 3), maxTokens: 3, at: 2 },
    ];
    const { outputs, plans } = runJobs(jobs, { numBlocks: 128, blockSize: 16, maxBatchTokens: 128 });
    for (const p of plans) expect(p.numTokens).toBeLessThanOrEqual(128);
    const longChunks = plans.flatMap((p) => p.chunks.filter((c) => c.seqId === 'long' && c.tokens.length > 1));
    expect(longChunks.length).toBeGreaterThanOrEqual(8);
    expect(longChunks.slice(0, -1).every((c) => !c.sample)).toBe(true);
    expect(longChunks.at(-1)?.sample).toBe(true);
    // While the long prompt is prefilled, the short one still gets its token every step.
    for (const p of plans.filter((pl) => pl.chunks.some((c) => c.seqId === 'long' && !c.sample))) {
      expect(p.chunks[0]).toMatchObject({ seqId: 'short', tokens: [expect.any(Number)] });
    }
    for (const j of jobs) expect(outputs.get(j.id)).toEqual(greedy(j));
  });

  it('finishes on stop when the engine says so, and on maxTokens by itself', () => {
    const job = { id: 'a', prompt: promptOf(20, 4), maxTokens: 50 };
    const eos = greedy(job)[5];
    const scheduler = new Scheduler<null>({ numBlocks: 16, blockSize: 16, modelFingerprint: 'fake-model' });
    const seq = scheduler.add({ ...job, params: null });
    drive(scheduler, new FakePagedModel(16, 16), { eos });
    expect(seq.finishReason).toBe('stop');
    expect(seq.outputTokens).toEqual(greedy(job).slice(0, 6));
    expect(seq.usage()).toEqual({ promptTokens: 20, cachedPromptTokens: 0, completionTokens: 6, evictedTokens: 0 });
  });
});

describe('Scheduler: out of blocks', () => {
  // Without the admission reserve (reserve.ts), which exists to make these cases rare.
  it('preempts and recomputes so that every request finishes with the unconstrained output', () => {
    const jobs = Array.from({ length: 8 }, (_, i) => ({ id: `r${i}`, prompt: promptOf(40, 100 + i), maxTokens: 40 }));
    const perRequest = blocksFor(40 + 40 - 1, 16);
    expect(perRequest * jobs.length).toBeGreaterThan(12);
    const small = runJobs(jobs, { numBlocks: 12, blockSize: 16, reserve: NO_RESERVE });
    const big = runJobs(jobs, { numBlocks: 512, blockSize: 16 });
    expect(small.plans.some((p) => p.preempted.length > 0)).toBe(true);
    for (const j of jobs) {
      expect(small.outputs.get(j.id)).toEqual(big.outputs.get(j.id));
      expect(small.scheduler.get(j.id)).toBeUndefined();
    }
    expect(small.scheduler.stats().blocksUsed).toBe(0);
  });

  it('preempts the most recently admitted sequence and queues it first', () => {
    const jobs = [0, 1, 2].map((i) => ({ id: `r${i}`, prompt: promptOf(16, 200 + i), maxTokens: 32 }));
    const { plans } = runJobs(jobs, { numBlocks: 6, blockSize: 16, reserve: NO_RESERVE });
    const first = plans.find((p) => p.preempted.length > 0);
    expect(first?.preempted[0]).toBe('r2');
  });

  it('refuses only a request that could never fit in the whole pool alone', () => {
    const scheduler = new Scheduler<null>({ numBlocks: 4, blockSize: 16, modelFingerprint: 'fake-model' });
    expect(() => scheduler.add({ id: 'x', prompt: promptOf(60, 5), maxTokens: 6, params: null })).toThrow(KvCacheFullError);
    const fits = { id: 'fits', prompt: promptOf(60, 5), maxTokens: 5 };
    const others = [1, 2].map((i) => ({ id: `o${i}`, prompt: promptOf(30, 50 + i), maxTokens: 20 }));
    const { outputs } = runJobs([...others, fits], { numBlocks: 4, blockSize: 16 });
    expect(outputs.get('fits')).toEqual(greedy(fits));
    for (const o of others) expect(outputs.get(o.id)).toEqual(greedy(o));
  });

  it('checks requests before allocating', () => {
    const scheduler = new Scheduler<null>({ numBlocks: 64, blockSize: 16, modelFingerprint: 'm', maxModelLen: 100 });
    expect(() => scheduler.add({ id: 'a', prompt: [], maxTokens: 1, params: null })).toThrow(InvalidParamsError);
    expect(() => scheduler.add({ id: 'a', prompt: [1.5], maxTokens: 1, params: null })).toThrow(InvalidParamsError);
    expect(() => scheduler.add({ id: 'a', prompt: [1], maxTokens: 0, params: null })).toThrow(InvalidParamsError);
    expect(() => scheduler.add({ id: 'a', prompt: promptOf(90, 1), maxTokens: 11, params: null })).toThrow(ContextLengthError);
    scheduler.add({ id: 'a', prompt: [1], maxTokens: 1, params: null });
    expect(() => scheduler.add({ id: 'a', prompt: [1], maxTokens: 1, params: null })).toThrow(InvalidParamsError);
    expect(scheduler.stats().blocksUsed).toBe(0);
  });

  it('insists on schedule / appendTokens alternating, with a token for every sampled chunk', () => {
    const scheduler = new Scheduler<null>({ numBlocks: 8, blockSize: 16, modelFingerprint: 'm' });
    scheduler.add({ id: 'a', prompt: [1, 2, 3], maxTokens: 4, params: null });
    expect(() => scheduler.appendTokens([])).toThrow();
    scheduler.schedule();
    expect(() => scheduler.schedule()).toThrow();
    expect(() => scheduler.appendTokens([])).toThrow(/no token/);
    scheduler.appendTokens([{ seqId: 'a', token: 7 }]);
    expect(scheduler.get('a')?.outputTokens).toEqual([7]);
  });
});

describe('Scheduler: prefix cache', () => {
  it('serves a shared 200-token prefix from the cache and prefills only the rest', () => {
    const shared = promptOf(200, 9);
    const a = { id: 'a', prompt: [...shared, ...promptOf(20, 10)], maxTokens: 8 };
    const b = { id: 'b', prompt: [...shared, ...promptOf(37, 11)], maxTokens: 8, at: 30 };
    const { outputs, plans, scheduler } = runJobs([a, b], { numBlocks: 64, blockSize: 16 });
    const firstB = plans.flatMap((p) => p.chunks).find((c) => c.seqId === 'b');
    expect(firstB?.startPos).toBeGreaterThanOrEqual(192);
    expect(firstB?.tokens).toHaveLength(b.prompt.length - (firstB?.startPos ?? 0));
    expect(outputs.get('b')).toEqual(greedy(b));
    const stats = scheduler.stats();
    expect(stats.prefix.hitBlocks).toBe(12);
    expect(stats.blocksCachedFree).toBeGreaterThan(0);
  });

  it('reports the hits in usage, and computes only the last token of a fully cached prompt', () => {
    const prompt = promptOf(208, 12);
    const scheduler = new Scheduler<null>({ numBlocks: 64, blockSize: 16, modelFingerprint: 'fake-model' });
    const model = new FakePagedModel(64, 16);
    const first = scheduler.add({ id: 'first', prompt, maxTokens: 5, params: null });
    drive(scheduler, model);
    const again = scheduler.add({ id: 'again', prompt, maxTokens: 5, params: null });
    const plan = scheduler.schedule();
    expect(plan.chunks[0]).toMatchObject({ startPos: 207, tokens: [prompt[207]], sample: true });
    expect(plan.copies).toHaveLength(1);
    scheduler.appendTokens(model.step(plan));
    drive(scheduler, model);
    expect(again.outputTokens).toEqual(first.outputTokens);
    expect(again.usage()).toEqual({ promptTokens: 208, cachedPromptTokens: 207, completionTokens: 5, evictedTokens: 0 });
  });

  it('keeps user cache salts apart', () => {
    const prompt = promptOf(64, 13);
    const scheduler = new Scheduler<null>({ numBlocks: 64, blockSize: 16, modelFingerprint: 'fake-model' });
    const model = new FakePagedModel(64, 16);
    scheduler.add({ id: 'alice1', prompt, maxTokens: 2, params: null, cacheSalt: 'alice' });
    drive(scheduler, model);
    const bob = scheduler.add({ id: 'bob', prompt, maxTokens: 2, params: null, cacheSalt: 'bob' });
    const alice = scheduler.add({ id: 'alice2', prompt, maxTokens: 2, params: null, cacheSalt: 'alice' });
    drive(scheduler, model);
    expect(bob.cachedPromptTokens).toBe(0);
    expect(alice.cachedPromptTokens).toBe(63);
  });
});
