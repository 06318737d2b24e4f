import type { BlockId } from '../kv/BlockTable.ts';
import { appendFits } from '../kv/BlockTable.ts';
import type { KvCache } from '../kv/KvCache.ts';
import { type AdmissionCap, NO_CAP } from './kvLimits.ts';
import type { GrowthForecast } from './reserve.ts';
import type { Sequence } from './Sequence.ts';

/** How a waiting sequence would start: hit blocks to adopt, tokens they cover, tokens to compute now. */
export interface AdmissionPlan {
  hits: BlockId[];
  computed: number;
  count: number;
}

/**
 * Looks a waiting sequence's tokens (prompt, plus output when it was preempted) up in the prefix
 * cache and returns the cheapest start that fits in the free blocks and, given a `forecast`,
 * keeps the running sequences' reserve (reserve.ts), or null. Without one (nothing runs) the
 * reserve never blocks the only request, which fits the pool alone (validateRequest), so
 * admission cannot deadlock. Only the uncached suffix is computed, always including the last
 * token so that there are logits to sample.
 */
export function planAdmission(seq: Sequence<unknown>, kv: KvCache, budget: number, forecast?: GrowthForecast, cap: AdmissionCap = NO_CAP): AdmissionPlan | null {
  const bs = kv.blockSize;
  const total = seq.tokens.length;
  // A KV budget or the context bounds how much of a long prompt one step may hold.
  const hits = kv.prefix.lookup(seq.chain, seq.tokens).slice(0, cap.hitBlocks);
  const attempts: AdmissionPlan[] = [];
  const add = (blocks: BlockId[], computed: number) => attempts.push({ hits: blocks, computed, count: Math.min(total - computed, budget, cap.entries - computed) });
  add(hits, Math.min(hits.length * bs, total - 1));
  // A whole-prompt hit rewrites its last token into a copy of the last block; if that one extra
  // block does not fit, recomputing the whole last block needs none.
  if (hits.length * bs >= total) add(hits.slice(0, -1), (hits.length - 1) * bs);
  const keepsReserve = (a: AdmissionPlan) => !forecast || forecast.admits(seq, a.hits, a.computed, a.computed + a.count);
  return attempts.find((a) => appendFits(a.hits, a.computed, a.count, bs, kv.pool) && keepsReserve(a)) ?? null;
}

/** How far behind the head admission looks for a request to backfill (a bound on its work per step). */
export const BACKFILL_DEPTH = 64;

/**
 * Backfill: while the head of the queue does not fit (its blocks, or the reserve its growth
 * needs), one of the next BACKFILL_DEPTH requests may be admitted past it, the first that
 * `admit` admits; that request still keeps the running sequences' reserve. A head is passed
 * over at most `limit` times, then admission waits for it, so it waits a bounded number of
 * admissions longer than in strict FIFO and never starves. 0: strict FIFO.
 */
export class Backfill<S extends object> {
  /** Times each request at the head was passed over (kept across preemption). */
  private readonly passed = new WeakMap<S, number>();

  constructor(private readonly limit: number) {}

  /** A request behind the head that `admit` took in, or undefined (the head must wait). */
  pick(waiting: readonly S[], admit: (seq: S) => boolean): S | undefined {
    const head = waiting[0];
    const n = this.passed.get(head) ?? 0;
    if (n >= this.limit) return undefined;
    const later = waiting.slice(1, 1 + BACKFILL_DEPTH).find(admit);
    if (later) this.passed.set(head, n + 1);
    return later;
  }
}
