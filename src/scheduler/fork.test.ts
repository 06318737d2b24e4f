import { describe, expect, it } from 'vitest';
import { blocksFor } from '../kv/batch.ts';
import { NO_RESERVE } from './reserve.ts';
import { Scheduler } from './Scheduler.ts';
import { requestUsage, type Sequence } from './Sequence.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import type { StepPlan } from './StepPlan.ts';
import { drive } from './testing/drive.ts';
import { promptOf } from './testing/workload.ts';

const BS = 16;

/** n > 1: the parent's first sampled step forks it; child i samples a different first token. */
function fanOut(promptLength: number, n: number, maxTokens: number, numBlocks: number) {
  const scheduler = new Scheduler<null>({ numBlocks, blockSize: BS, modelFingerprint: 'fake-model' });
  const model = new FakePagedModel(numBlocks, BS);
  const prompt = promptOf(promptLength, 21);
  const family: Sequence<null>[] = [scheduler.add({ id: 'p', prompt, maxTokens, params: null })];
  let copies = 0;
  let preemptions = 0;
  let worst = 0;
  drive(scheduler, model, {
    beforeAppend: (_plan, results) => {
      const first = results.find((r) => r.seqId === 'p');
      if (!first || family.length > 1) return results;
      const children = scheduler.fork('p', n);
      family.push(...children);
      return [...results, ...children.map((c, i) => ({ seqId: c.id, token: (first.token + i + 1) % 1000 }))];
    },
    afterStep: (plan) => {
      copies += plan.copies.length;
      preemptions += plan.preempted.length;
      const generated = Math.max(...family.map((s) => s.numOutput));
      const bound = blocksFor(promptLength, BS) + n * (blocksFor(generated, BS) + 1);
      worst = Math.max(worst, scheduler.stats().blocksUsed - bound);
    },
  });
  return { scheduler, prompt, family, copies, preemptions, worst };
}

describe('Scheduler: n > 1 by forking', () => {
  it.each([256, 250])('n=4 over a %i-token prompt shares the prompt blocks and decodes each child exactly', (len) => {
    const { scheduler, prompt, family, copies, worst } = fanOut(len, 4, 40, 128);
    expect(family).toHaveLength(4);
    expect(worst).toBeLessThanOrEqual(0);
    // A prompt ending inside a block leaves a shared partial block: copied on write, by all but the last.
    expect(copies).toBe(len % BS === 0 ? 0 : 3);
    for (const seq of family) {
      const [first, ...rest] = seq.outputTokens;
      expect(rest).toEqual(FakePagedModel.greedy([...prompt, first], 39));
      expect(seq.finishReason).toBe('length');
    }
    expect(new Set(family.map((s) => s.outputTokens[0])).size).toBe(4);
    expect(requestUsage(family)).toEqual({ promptTokens: len, cachedPromptTokens: 0, completionTokens: 160, evictedTokens: 0 });
    expect(scheduler.stats().blocksUsed).toBe(0);
  });

  it('survives preemption of forked children in a small pool', () => {
    const { prompt, family, preemptions, scheduler } = fanOut(100, 4, 60, 14);
    expect(preemptions).toBeGreaterThan(0);
    expect(scheduler.stats().blocksUsed).toBe(0);
    for (const seq of family) {
      const [first, ...rest] = seq.outputTokens;
      expect(rest).toEqual(FakePagedModel.greedy([...prompt, first], 59));
    }
  });

  it('takes back the chunk of a child preempted after its decode was scheduled', () => {
    // P is older than X, which is still prefilling when P's children (the newest) decode:
    // X's chunk then needs blocks, and the newest child, already in the plan, must leave it.
    // X is admitted beside P only without the admission reserve (reserve.ts).
    const scheduler = new Scheduler<null>({ numBlocks: 7, blockSize: BS, modelFingerprint: 'fake-model', maxBatchTokens: 32, reserve: NO_RESERVE });
    const model = new FakePagedModel(7, BS);
    const p = { id: 'p', prompt: promptOf(10, 31), maxTokens: 20 };
    const x = { id: 'x', prompt: promptOf(100, 32), maxTokens: 12 };
    scheduler.add({ ...p, params: null });
    scheduler.add({ ...x, params: null });
    const family: Sequence<null>[] = [];
    const plans: StepPlan[] = [];
    drive(scheduler, model, {
      beforeAppend: (_plan, results, step) => {
        if (step !== 0) return results;
        const children = scheduler.fork('p', 4);
        family.push(...children);
        return [...results, ...children.map((c, i) => ({ seqId: c.id, token: i + 1 }))];
      },
      afterStep: (plan) => plans.push(plan),
    });
    expect(plans[1].preempted).toEqual(['p#3']);
    expect(plans[1].chunks.map((c) => c.seqId)).toEqual(['p', 'p#1', 'p#2', 'x']);
    expect(plans[1].copies).toHaveLength(3); // p, p#1, p#2 copy the shared partial block; p#3 left
    for (const c of family) {
      const [first, ...rest] = c.outputTokens;
      expect(rest).toEqual(FakePagedModel.greedy([...p.prompt, first], p.maxTokens - 1));
    }
    expect(scheduler.stats().blocksUsed).toBe(0);
  });

  it('refuses to fork a sequence whose prompt is not prefilled', () => {
    const scheduler = new Scheduler<null>({ numBlocks: 64, blockSize: BS, modelFingerprint: 'm', maxBatchTokens: 16 });
    scheduler.add({ id: 'p', prompt: promptOf(100, 1), maxTokens: 4, params: null });
    expect(() => scheduler.fork('p', 2)).toThrow();
    scheduler.schedule();
    expect(() => scheduler.fork('p', 2)).toThrow(/prefilled/);
  });
});
