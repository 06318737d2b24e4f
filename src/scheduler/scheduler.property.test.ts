import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blocksFor } from '../kv/batch.ts';
import { copyPlanViolation } from '../kv/copyPlan.ts';
import { type AdmissionReserve, DEFAULT_RESERVE, NO_RESERVE } from './reserve.ts';
import type { Scheduler } from './Scheduler.ts';
import type { SampledToken, StepPlan } from './StepPlan.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { QueueModel } from './testing/queueModel.ts';
import { type Job, rng, runJobs } from './testing/workload.ts';

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
type Spec = typeof job extends fc.Arbitrary<infer T> ? T : never;

/** Admission as before the reserve, the default reserve, or any other. */
const reserve: fc.Arbitrary<AdmissionReserve> = fc.oneof(
  fc.constant(NO_RESERVE),
  fc.constant(DEFAULT_RESERVE),
  fc.record({ lookaheadSteps: fc.integer({ min: 0, max: 40 }), poolFraction: fc.double({ min: 0, max: 0.5, noNaN: true }), backfill: fc.integer({ min: 0, max: 3 }) }),
);

/** The random specs as jobs: prompts from shared stems (prefix hits) or their own, children unlike each other or alike. */
function jobsOf(specs: ReadonlyArray<Spec>): Job[] {
  return specs.map((s, i) => {
    const stem = s.stem < 3 ? stems[s.stem].slice(0, s.stemLength) : [];
    const prompt = [...stem, ...s.tail];
    const childToken = s.sameFirst ? undefined : (first: number, k: number) => (first + k) % 1000;
    return { id: `r${i}`, prompt: prompt.length > 0 ? prompt : [7], maxTokens: s.maxTokens, at: s.at, n: s.n, childToken };
  });
}

/** The smallest pool that admits every job alone. */
function smallestPool(jobs: readonly Job[], blockSize: number): number {
  return Math.max(...jobs.map((j) => blocksFor(j.prompt.length + j.maxTokens - 1, blockSize)));
}

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
    let backfills = 0;
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
          const jobs = jobsOf(specs);
          const numBlocks = smallestPool(jobs, blockSize) + spareBlocks;
          // No request overtakes an earlier one beyond the backfill bound, and a preempted one
          // goes back to the front.
          const queue = new QueueModel(rule.backfill);
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
          for (const n of queue.passedOver.values()) backfills += n;
        },
      ),
      { numRuns: 10_000, seed: 4242 },
    );
    // The workloads reach what the invariant is about: copies under preemption.
    expect(copies).toBeGreaterThan(1000);
    expect(preemptions).toBeGreaterThan(1000);
    // ...and admissions beside running sequences, with a reserve, under an exact forecast.
    expect(reserveChecks).toBeGreaterThan(1000);
    // ...and requests admitted past a head that did not fit (backfill), within its bound.
    expect(backfills).toBeGreaterThan(100);
  });
});

describe('Scheduler with speculative drafts (verification chunks and rollback)', () => {
  it('gives every stream its greedy output whatever is drafted, holds no slot past its tokens between steps, hashes only verified blocks, and frees everything', () => {
    let drafted = 0;
    let accepted = 0;
    let rolledBack = 0;
    let preemptions = 0;
    fc.assert(
      fc.property(
        fc.array(job, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(1, 2, 4, 16),
        fc.integer({ min: 1, max: 48 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(0, 0.5, 0.9, 1),
        (specs, blockSize, maxBatchTokens, spareBlocks, seed, rightness) => {
          const jobs = jobsOf(specs);
          const numBlocks = smallestPool(jobs, blockSize) + spareBlocks;
          const random = rng(seed);
          // Between steps: the invariant of src/scheduler/drafts.ts; then a drafter that is right
          // with probability `rightness` per token, up to 6 tokens, sometimes none.
          const beforeSchedule = (_step: number, scheduler: Scheduler<unknown>) => {
            for (const seq of scheduler.runningSequences) {
              // The table holds computed tokens only (no rejected draft's slot): one left to compute.
              // (Plain checks: expect() in this loop would cost most of the test's time.)
              if (seq.numUncomputed < 1 || seq.table.blocks.length !== blocksFor(seq.table.numTokens, blockSize)) throw new Error(`${seq.id} holds slots past its tokens`);
              // Every hashed block is full of the sequence's verified, computed tokens.
              seq.table.blocks.forEach((b, i) => {
                if (scheduler.kv.pool.hashOf(b) !== undefined && (i + 1) * blockSize > seq.numComputed) throw new Error(`${seq.id} has hashed block ${i} past its verified tokens`);
              });
              if (seq.numUncomputed !== 1 || seq.numOutput === 0) continue;
              const k = Math.floor(random() * 7);
              const context = [...seq.tokens];
              const draft: number[] = [];
              for (let i = 0; i < k; i++) {
                const t = random() < rightness ? FakePagedModel.next(context) : Math.floor(random() * 1000);
                draft.push(t);
                context.push(t);
              }
              seq.draft = draft;
            }
          };
          const afterStep = (plan: StepPlan) => {
            preemptions += plan.preempted.length;
            for (const c of plan.chunks) drafted += c.verify ?? 0;
          };
          const beforeAppend = (plan: StepPlan, results: SampledToken[]) => {
            for (const r of results) {
              const c = plan.chunks.find((x) => x.seqId === r.seqId);
              accepted += r.accepted ?? 0;
              rolledBack += (c?.verify ?? 0) - (r.accepted ?? 0);
            }
            return results;
          };
          const result = runJobs(jobs, { numBlocks, blockSize, maxBatchTokens, maxNumSeqs: 4 }, { beforeSchedule, afterStep, beforeAppend });
          for (const p of result.plans) {
            expect(p.numTokens).toBeLessThanOrEqual(maxBatchTokens);
            expect(copyPlanViolation(p.copies, numBlocks)).toBeNull();
          }
          for (const j of jobs) {
            const root = result.outputs.get(j.id)!;
            expect(root).toEqual(expected(j, j.id, root[0]));
            for (let k = 1; k < (j.n ?? 1); k++) {
              const child = result.outputs.get(`${j.id}#${k}`)!;
              expect(child).toEqual(expected(j, `${j.id}#${k}`, child[0]));
            }
          }
          expect(result.scheduler.stats().blocksUsed).toBe(0);
        },
      ),
      { numRuns: 120, seed: 1717 },
    );
    expect(drafted).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(300);
    expect(rolledBack).toBeGreaterThan(300);
    expect(preemptions).toBeGreaterThan(30);
  });
});
