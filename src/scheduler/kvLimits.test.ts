import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EvictionPolicy, type KvLimit, maxHeldBlocks, NO_LIMIT } from '../kv/eviction/KvLimit.ts';
import { Scheduler } from './Scheduler.ts';
import type { Sequence } from './Sequence.ts';
import { drive } from './testing/drive.ts';
import { FakePagedModel } from './testing/FakePagedModel.ts';
import { NO_RESERVE } from './reserve.ts';

const BS = 4;
const CONTEXT = 40;

const request = fc.record({
  prompt: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 60 }),
  maxTokens: fc.integer({ min: 1, max: 70 }),
  budget: fc.option(fc.integer({ min: 3, max: 6 }), { nil: null }),
  policy: fc.constantFrom<EvictionPolicy>('window', 'paged-eviction', 'random'),
  fork: fc.integer({ min: 1, max: 3 }),
});

describe('scheduler under KV budgets and context shifts', () => {
  it('keeps every sequence within its budget and the context, forks and preempts soundly, and frees every block', () => {
    const seen = { evicted: 0, shifted: 0, preempted: 0, forks: 0 };
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 10 }), fc.integer({ min: 14, max: 40 }), (reqs, numBlocks) => {
        const s = new Scheduler<null>({ numBlocks, blockSize: BS, modelFingerprint: 'fp', maxBatchTokens: 24, maxModelLen: CONTEXT, reserve: NO_RESERVE });
        const model = new FakePagedModel(numBlocks, BS);
        const all: Sequence<null>[] = [];
        const forks = new Map<string, number>();
        let r = 0.37;
        reqs.forEach((q, i) => {
          const kv: KvLimit = { ...NO_LIMIT, budgetBlocks: q.budget, policy: q.budget === null ? 'none' : q.policy, overflow: 'shift', random: () => (r = (r * 9301 + 0.49297) % 1) };
          all.push(s.add({ id: `r${i}`, prompt: q.prompt, maxTokens: q.maxTokens, params: null, kv }));
          if (q.fork > 1) forks.set(`r${i}`, q.fork);
        });
        drive(s, model, {
          beforeAppend: (plan, results) => {
            seen.preempted += plan.preempted.length;
            seen.shifted += plan.shifts.length;
            const out = [...results];
            for (const res of results) {
              const n = forks.get(res.seqId);
              const seq = s.get(res.seqId);
              if (!n || !seq || seq.numOutput > 0) continue;
              forks.delete(res.seqId);
              for (const child of s.fork(res.seqId, n)) {
                all.push(child);
                out.push({ seqId: child.id, token: res.token });
                seen.forks++;
              }
            }
            return out;
          },
          afterStep: (plan) => {
            for (const c of plan.chunks) {
              const seq = s.get(c.seqId);
              if (!seq) continue;
              const t = seq.table;
              if (t.blocks.length > maxHeldBlocks(seq.kv)) throw new Error(`${c.seqId} holds ${t.blocks.length} blocks over its budget`);
              if (t.numTokens > 0 && t.positionAt(t.numTokens - 1) >= CONTEXT) throw new Error(`${c.seqId} wrote past the context`);
              seen.evicted += seq.evictedTokens > 0 ? 1 : 0;
            }
          },
        });
        // Every stream ran to its maxTokens (no EOS here), children included.
        for (const seq of all) expect([seq.id, seq.status, seq.numOutput]).toEqual([seq.id, 'finished', seq.maxTokens]);
        expect(s.stats().blocksUsed).toBe(0);
      }),
      { numRuns: 300, seed: 1414 },
    );
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(20);
  });
});
