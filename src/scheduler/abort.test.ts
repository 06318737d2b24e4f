import { describe, expect, it } from 'vitest';
import { Scheduler } from './Scheduler.ts';
import type { Sequence } from './Sequence.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { stepOnce } from './testing/drive.ts';
import { promptOf, rng } from './testing/workload.ts';

describe('Scheduler: abort', () => {
  it('100 requests aborted at random points leave zero blocks held', () => {
    const r = rng(99);
    const numBlocks = 40;
    const scheduler = new Scheduler<null>({ numBlocks, blockSize: 16, modelFingerprint: 'fake-model', maxBatchTokens: 256 });
    const model = new FakePagedModel(numBlocks, 16);
    const shared = promptOf(120, 98);
    const jobs = Array.from({ length: 100 }, (_, i) => ({
      id: `r${i}`,
      // Half share a prefix, so that aborts also hit shared and cached blocks.
      prompt: [...(i % 2 ? shared.slice(0, 16 + Math.floor(r() * 100)) : []), ...promptOf(1 + Math.floor(r() * 150), i)],
      maxTokens: 1 + Math.floor(r() * 60),
      at: Math.floor(r() * 60),
      abortAt: Math.floor(r() * 120),
      // Some aborts land while their step is in flight, between the forward and appendTokens().
      inFlight: r() < 0.5,
    }));
    const seqs = new Map<string, Sequence<null>>();
    let aborted = 0;
    const abortDue = (step: number, inFlight: boolean) => {
      for (const j of jobs) {
        if (j.abortAt === step && j.inFlight === inFlight && scheduler.get(j.id)) {
          scheduler.abort(j.id);
          aborted++;
        }
      }
    };
    for (let step = 0; step < 60 || scheduler.hasWork; step++) {
      for (const j of jobs) if (j.at === step) seqs.set(j.id, scheduler.add({ id: j.id, prompt: j.prompt, maxTokens: j.maxTokens, params: null }));
      abortDue(step, false);
      if (!scheduler.hasWork) continue;
      stepOnce(scheduler, model, { beforeAppend: (_p, results) => (abortDue(step, true), results) }, step);
    }
    expect(aborted).toBeGreaterThan(30);
    expect(scheduler.stats()).toMatchObject({ blocksUsed: 0, blocksFree: numBlocks, blocksShared: 0 });
    expect(scheduler.snapshot().every((b) => b.state === 'free' || b.state === 'cached')).toBe(true);
    for (const j of jobs) {
      const seq = seqs.get(j.id);
      expect(seq?.isFinished).toBe(true);
      // Aborts never disturb the others: every output is a prefix of the greedy one.
      expect(seq?.outputTokens).toEqual(FakePagedModel.greedy(j.prompt, j.maxTokens).slice(0, seq?.numOutput));
    }
  });

  it('frees a waiting, a prefilling and a decoding sequence at once', () => {
    const scheduler = new Scheduler<null>({ numBlocks: 32, blockSize: 16, modelFingerprint: 'm', maxBatchTokens: 64 });
    const model = new FakePagedModel(32, 16);
    scheduler.add({ id: 'dec', prompt: promptOf(10, 1), maxTokens: 50, params: null });
    scheduler.appendTokens(model.step(scheduler.schedule()));
    scheduler.add({ id: 'pre', prompt: promptOf(300, 2), maxTokens: 5, params: null });
    scheduler.add({ id: 'wait', prompt: promptOf(300, 3), maxTokens: 5, params: null });
    scheduler.appendTokens(model.step(scheduler.schedule()));
    expect(scheduler.get('pre')?.status).toBe('running');
    expect(scheduler.get('wait')?.status).toBe('waiting');
    for (const id of ['wait', 'pre', 'dec']) scheduler.abort(id);
    expect(scheduler.hasWork).toBe(false);
    expect(scheduler.stats().blocksUsed).toBe(0);
  });
});
