import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blocksFor } from '../kv/batch.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { type Job, runJobs } from './testing/workload.ts';

/** Prompts built from a few shared stems, so that random workloads hit the prefix cache. */
const stems = [0, 1, 2].map((s) => Array.from({ length: 64 }, (_, i) => 1 + ((i * 37 + s * 101) % 997)));
const job = fc.record({
  stem: fc.integer({ min: 0, max: 3 }),
  stemLength: fc.integer({ min: 0, max: 64 }),
  tail: fc.array(fc.integer({ min: 1, max: 999 }), { maxLength: 40 }),
  maxTokens: fc.integer({ min: 1, max: 24 }),
  at: fc.integer({ min: 0, max: 10 }),
});

describe('Scheduler under random workloads', () => {
  it('gives every request its greedy output, within budget, and frees everything', () => {
    fc.assert(
      fc.property(
        fc.array(job, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(1, 2, 4, 16),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 30 }),
        (specs, blockSize, maxBatchTokens, maxNumSeqs, spareBlocks) => {
          const jobs: Job[] = specs.map((s, i) => {
            const stem = s.stem < 3 ? stems[s.stem].slice(0, s.stemLength) : [];
            const prompt = [...stem, ...s.tail];
            return { id: `r${i}`, prompt: prompt.length > 0 ? prompt : [7], maxTokens: s.maxTokens, at: s.at };
          });
          // The smallest pool that admits every request alone, plus a random margin.
          const numBlocks = Math.max(...jobs.map((j) => blocksFor(j.prompt.length + j.maxTokens - 1, blockSize))) + spareBlocks;
          const run = runJobs(jobs, { numBlocks, blockSize, maxBatchTokens, maxNumSeqs });
          for (const p of run.plans) {
            expect(p.numTokens).toBeLessThanOrEqual(maxBatchTokens);
            expect(p.chunks.length).toBeLessThanOrEqual(maxNumSeqs);
          }
          for (const j of jobs) expect(run.outputs.get(j.id)).toEqual(FakePagedModel.greedy(j.prompt, j.maxTokens));
          expect(run.scheduler.stats().blocksUsed).toBe(0);
        },
      ),
      { numRuns: 300, seed: 4242 },
    );
  });
});
