import { describe, expect, it } from 'vitest';
import { type AdmissionReserve, DEFAULT_RESERVE, NO_RESERVE } from './reserve.ts';
import { Scheduler } from './Scheduler.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { QueueModel } from './testing/queueModel.ts';
import { type Job, promptOf, rng, runJobs } from './testing/workload.ts';

const BS = 16;
const greedy = (j: Job) => FakePagedModel.greedy(j.prompt, j.maxTokens);
/** A window long enough to see every sequence of these small cases to its end. */
const LONG: AdmissionReserve = { lookaheadSteps: 200, poolFraction: 0 };

/** The step at which each sequence was admitted first. */
function admittedAt(plans: readonly { admitted: string[] }[]): Map<string, number> {
  const at = new Map<string, number>();
  plans.forEach((p, step) => p.admitted.forEach((id) => at.has(id) || at.set(id, step)));
  return at;
}

describe('Scheduler: admission reserve', () => {
  // a ends holding 8 blocks (16 + 99 positions), b 7 (40 + 59): 15, in a pool of 10.
  const a = { id: 'a', prompt: promptOf(16, 1), maxTokens: 100 };
  const b = { id: 'b', prompt: promptOf(40, 2), maxTokens: 60 };

  it('without a reserve, admits a request that will have to be preempted', () => {
    const run = runJobs([a, b], { numBlocks: 10, blockSize: BS, reserve: NO_RESERVE });
    expect(run.plans[0].admitted).toEqual(['a', 'b']);
    expect(run.plans.some((p) => p.preempted.length > 0)).toBe(true);
  });

  it('keeps a request waiting while the running ones will need the blocks it would take', () => {
    const run = runJobs([a, b], { numBlocks: 10, blockSize: BS, reserve: LONG });
    const at = admittedAt(run.plans);
    expect(run.plans.every((p) => p.preempted.length === 0)).toBe(true);
    // b starts once a is done: a's last step is the one that samples its 100th token.
    expect(at.get('b')).toBe(a.maxTokens);
    for (const j of [a, b]) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('admits beside a sequence whose blocks come back, at maxTokens, before they are needed', () => {
    // c ends holding 4 blocks after 40 steps, when b holds 5 of its 7: never more than 9 of 10.
    const c = { id: 'c', prompt: promptOf(16, 3), maxTokens: 40 };
    const run = runJobs([c, b], { numBlocks: 10, blockSize: BS, reserve: LONG });
    expect(run.plans[0].admitted).toEqual(['c', 'b']);
    expect(run.plans.every((p) => p.preempted.length === 0)).toBe(true);
    for (const j of [c, b]) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('never keeps the only request out: alone, one that fits the pool is admitted', () => {
    // Each needs all 8 blocks (100 + 28 positions); the reserve alone would ask for 7 of them.
    const jobs = [0, 1].map((i) => ({ id: `r${i}`, prompt: promptOf(100, 10 + i), maxTokens: 29 }));
    const run = runJobs(jobs, { numBlocks: 8, blockSize: BS, reserve: { lookaheadSteps: 1000, poolFraction: 0.9 } });
    expect(run.plans[0].admitted).toEqual(['r0']);
    const at = admittedAt(run.plans);
    expect(at.get('r1')).toBe(jobs[0].maxTokens);
    for (const j of jobs) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('backfills: admits a short request past a head that must wait, without delaying the head', () => {
    // h must wait for a's blocks (as b above); c (1 block, done in 8 steps) fits beside a.
    const h = { ...b, id: 'h' };
    const c = { id: 'c', prompt: promptOf(8, 4), maxTokens: 8 };
    const strict = runJobs([a, h, c], { numBlocks: 10, blockSize: BS, reserve: LONG });
    expect(strict.plans[0].admitted).toEqual(['a']);
    const run = runJobs([a, h, c], { numBlocks: 10, blockSize: BS, reserve: { ...LONG, backfill: 1 } });
    expect(run.plans[0].admitted).toEqual(['a', 'c']);
    expect(admittedAt(run.plans).get('h')).toBe(admittedAt(strict.plans).get('h'));
    expect(run.plans.every((p) => p.preempted.length === 0)).toBe(true);
    for (const j of [a, h, c]) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('passes a waiting head over at most `backfill` times, then admits nothing past it', () => {
    const h = { ...b, id: 'h' };
    const shorts = Array.from({ length: 5 }, (_, i) => ({ id: `c${i}`, prompt: promptOf(8, 30 + i), maxTokens: 8 }));
    const jobs = [a, h, ...shorts];
    const queue = new QueueModel(2);
    for (const j of jobs) queue.arrive(j.id);
    const run = runJobs(jobs, { numBlocks: 10, blockSize: BS, reserve: { ...LONG, backfill: 2 } }, { afterStep: (plan) => queue.step(plan) });
    const at = admittedAt(run.plans);
    expect(run.plans[0].admitted).toEqual(['a', 'c0', 'c1']);
    expect(queue.passedOver.get('h')).toBe(2);
    // The rest come after h: in its step (behind it) or later.
    expect(run.plans[at.get('h')!].admitted[0]).toBe('h');
    for (const c of shorts.slice(2)) expect(at.get(c.id)).toBeGreaterThanOrEqual(at.get('h')!);
    for (const j of jobs) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('puts a preempted request back at the front of the queue, ahead of those that came before it', () => {
    const jobs = Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, prompt: promptOf(16, 20 + i), maxTokens: 32, at: i < 3 ? 0 : 1 }));
    const queue = new QueueModel();
    let behind: string[] | undefined;
    const run = runJobs(jobs, { numBlocks: 6, blockSize: BS, reserve: NO_RESERVE }, {
      afterStep: (plan, step) => {
        for (const j of jobs) if (j.at === step) queue.arrive(j.id);
        queue.step(plan); // throws if the scheduler admits out of that order
        if (plan.preempted.length > 0) behind ??= [...queue.ids];
      },
    });
    const first = run.plans.findIndex((p) => p.preempted.length > 0);
    const victim = run.plans[first].preempted[0];
    // Requests that arrived before the preemption were waiting; the victim went ahead of them...
    expect(behind?.[0]).toBe(victim);
    expect(behind?.length).toBeGreaterThan(1);
    // ...and is the next one admitted.
    const next = run.plans.slice(first + 1).find((p) => p.admitted.length > 0);
    expect(next?.admitted[0]).toBe(victim);
    for (const j of jobs) expect(run.outputs.get(j.id)).toEqual(greedy(j));
  });

  it('preempts far less on a saturated queue, with the same outputs', () => {
    const r = rng(5);
    const jobs = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, prompt: promptOf(1 + Math.floor(r() * 120), 300 + i), maxTokens: 1 + Math.floor(r() * 120) }));
    const count = (reserve: AdmissionReserve) => {
      const run = runJobs(jobs, { numBlocks: 48, blockSize: BS, maxBatchTokens: 128, reserve });
      for (const j of jobs) expect(run.outputs.get(j.id)).toEqual(greedy(j));
      return run.plans.reduce((n, p) => n + p.preempted.length, 0);
    };
    const before = count(NO_RESERVE);
    expect(before).toBeGreaterThan(jobs.length / 4);
    expect(count(DEFAULT_RESERVE)).toBeLessThanOrEqual(before / 4);
  });

  it('checks its options', () => {
    const make = (reserve: AdmissionReserve) => new Scheduler({ numBlocks: 8, modelFingerprint: 'm', reserve });
    for (const bad of [{ lookaheadSteps: -1, poolFraction: 0 }, { lookaheadSteps: 1.5, poolFraction: 0 }, { lookaheadSteps: 0, poolFraction: 1 }, { lookaheadSteps: 0, poolFraction: NaN }, { lookaheadSteps: 0, poolFraction: 0, backfill: -1 }, { lookaheadSteps: 0, poolFraction: 0, backfill: 0.5 }]) {
      expect(() => make(bad)).toThrow(RangeError);
    }
    expect(make(NO_RESERVE).reserve).toEqual(NO_RESERVE);
    expect(new Scheduler({ numBlocks: 8, modelFingerprint: 'm' }).reserve).toEqual(DEFAULT_RESERVE);
  });
});
