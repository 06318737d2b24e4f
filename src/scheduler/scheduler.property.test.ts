import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blocksFor } from '../kv/batch.ts';
import { copyPlanViolation } from '../kv/copyPlan.ts';
import { type AdmissionReserve, DEFAULT_RESERVE, NO_RESERVE } from './reserve.ts';
import type { StepPlan } from './StepPlan.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { QueueModel } from './testing/queueModel.ts';
import { type Job, runJobs } from './testing/workload.ts';

/** Prompts built from a few shared stems, so that random workloads hit the prefix cache. */
const stems = [0, 1, 2].map((s) => Array.from({ length: 64 }, (_, i) => 1 + ((i * 37 + s * 101) % 997)));
const job = fc.record({
  stem: fc.integer({ min: 0, max: 3 }),
  stemLength: fc.integer({ min: 0, max: 64 }),
  tail: fc.array(fc.integer({ min: 1, max: 999 }), { maxLength: 40 }),
  maxTokens: fc.integer({ min: 1, max: 24 }),
  at: fc.integer({ min: 0, max: 10 }),
  // n > 1 forks after the first token; children start with the parent's token (temperature 0)
  // or their own, so that forks, shared partial blocks and identical full blocks all occur.
  n: fc.integer({ min: 1, max: 3 }),
  sameFirst: fc.boolean(),
});

/** Admission as before the reserve, the default reserve, or any other. */
const reserve: fc.Arbitrary<AdmissionReserve> = fc.oneof(
  fc.constant(NO_RESERVE),
  fc.constant(DEFAULT_RESERVE),
  fc.record({ lookaheadSteps: fc.integer({ min: 0, max: 40 }), poolFraction: fc.double({ min: 0, max: 0.5, noNaN: true }) }),
);

/** What each stream of a job must produce: the greedy output, a child from its own first token. */
function expected(j: Job, streamId: string, first: number): number[] {
  if (streamId === j.id) return FakePagedModel.greedy(j.prompt, j.maxTokens);
  return [first, ...FakePagedModel.greedy([...j.prompt, first], j.maxTokens - 1)];
}

describe('Scheduler under random workloads', () => {
  it('gives every stream its greedy output, plans only dependency-free copies, stays within budget, keeps the queue order and the reserve, and frees everything', () => {
    let copies = 0;
    let preemptions = 0;
    let reserveChecks = 0;
    fc.assert(
      fc.property(
        fc.array(job, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(1, 2, 4, 16),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 30 }),
        reserve,
        fc.boolean(),
        (rawSpecs, blockSize, maxBatchTokens, maxNumSeqs, spareBlocks, rule, noForks) => {
          const specs = noForks ? rawSpecs.map((s) => ({ ...s, n: 1 })) : rawSpecs;
          const jobs: Job[] = specs.map((s, i) => {
            const stem = s.stem < 3 ? stems[s.stem].slice(0, s.stemLength) : [];
            const prompt = [...stem, ...s.tail];
            const childToken = s.sameFirst ? undefined : (first: number, k: number) => (first + k) % 1000;
            return { id: `r${i}`, prompt: prompt.length > 0 ? prompt : [7], maxTokens: s.maxTokens, at: s.at, n: s.n, childToken };
          });
          // The smallest pool that admits every request alone, plus a random margin.
          const numBlocks = Math.max(...jobs.map((j) => blocksFor(j.prompt.length + j.maxTokens - 1, blockSize))) + spareBlocks;
          // No request overtakes an earlier one, and a preempted one goes back to the front.
          const queue = new QueueModel();
          // Steps whose admission had to keep the reserve: another sequence ran beside the one
          // admitted. (Admission only runs with budget left, so every running one has a chunk.)
          const reserved = new Set<number>();
          const preemptedAt: number[] = [];
          const afterStep = (plan: StepPlan, step: number) => {
            for (const j of jobs) if ((j.at ?? 0) === step) queue.arrive(j.id);
            queue.step(plan);
            if (plan.admitted.length > 0 && plan.chunks.length > 1) reserved.add(step);
            if (plan.preempted.length > 0) preemptedAt.push(step);
          };
          const result = runJobs(jobs, { numBlocks, blockSize, maxBatchTokens, maxNumSeqs, reserve: rule }, { afterStep });
          // The reserve keeps every step of the window after an admission free of preemption,
          // where its forecast is exact: no fork adds sequences unseen, and the token budget
          // lets every running sequence decode each step (so they end when it expects).
          if (noForks && maxBatchTokens >= maxNumSeqs && rule.lookaheadSteps > 0) {
            reserveChecks += reserved.size;
            for (const a of reserved) {
              const t = preemptedAt.find((s) => s > a && s <= a + rule.lookaheadSteps);
              expect(t, `admitted beside others at step ${a}, preempted at ${t}`).toBeUndefined();
            }
          }
          for (const p of result.plans) {
            expect(p.numTokens).toBeLessThanOrEqual(maxBatchTokens);
            // Admission keeps to maxNumSeqs; a fork then adds its children regardless.
            expect(p.chunks.length).toBeLessThanOrEqual(maxNumSeqs * Math.max(...jobs.map((j) => j.n ?? 1)));
            // The copy-plan invariant (src/kv/copyPlan.ts), which both backends rely on.
            expect(copyPlanViolation(p.copies, numBlocks)).toBeNull();
            copies += p.copies.length;
            preemptions += p.preempted.length;
          }
          for (const j of jobs) {
            const root = result.outputs.get(j.id)!;
            expect(root).toEqual(expected(j, j.id, root[0]));
            for (let k = 1; k < (j.n ?? 1); k++) {
              const child = result.outputs.get(`${j.id}#${k}`)!;
              expect(child[0]).toBe(j.childToken?.(root[0], k) ?? root[0]);
              expect(child).toEqual(expected(j, `${j.id}#${k}`, child[0]));
            }
          }
          expect(result.scheduler.stats().blocksUsed).toBe(0);
        },
      ),
      { numRuns: 10_000, seed: 4242 },
    );
    // The workloads reach what the invariant is about: copies under preemption.
    expect(copies).toBeGreaterThan(1000);
    expect(preemptions).toBeGreaterThan(1000);
    // ...and admissions beside running sequences, with a reserve, under an exact forecast.
    expect(reserveChecks).toBeGreaterThan(1000);
  });
});
