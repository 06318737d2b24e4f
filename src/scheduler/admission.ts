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
