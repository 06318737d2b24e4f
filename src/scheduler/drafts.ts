import type { BlockPool } from '../kv/BlockPool.ts';
import type { Sequence } from './Sequence.ts';
import type { ScheduledChunk } from './StepPlan.ts';

/**
 * Speculative decoding in a step. A decoding sequence with a draft (Sequence.draft) is planned
 * as one verification chunk: its last accepted token and d drafted tokens, d + 1 rows whose
 * slots its table reserves like any append (copy-on-write included), and whose every row's
 * logits come back. After the step, `rollback` keeps the slots of the accepted drafts and
 * releases the rest.
 *
 * Invariant (asserted in scheduler.property.test.ts and kv.property.test.ts): between steps a
 * running sequence's table holds exactly its computed tokens (numSeen = tokens.length - 1 for a
 * decode), so no slot of a rejected token outlives its step; and since the prefix cache hashes
 * blocks only after the rollback (Scheduler.appendTokens), only blocks full of verified tokens
 * are ever hashed. Preemption and abort free the table whole, drafts' slots included.
 */

/**
 * Trims the drafts of `decodes` so that every decode keeps its own row and block first: drafts
 * take only the tokens of the step's `budget` and the free blocks that the decodes leave (first
 * come first served), so speculation never preempts a sequence; and so that accepted drafts plus
 * the token after them never pass maxTokens nor the context `maxLen`.
 */
export function fitDrafts(decodes: readonly Sequence<unknown>[], budget: number, pool: BlockPool, maxLen = Infinity): void {
  if (!decodes.some((s) => s.draft.length > 0)) return;
  let spare = Math.max(0, budget - decodes.length);
  let spareBlocks = pool.numFree;
  for (const seq of decodes) spareBlocks -= seq.table.cost(1, pool);
  for (const seq of decodes) {
    let d = Math.max(0, Math.min(seq.draft.length, spare, seq.maxTokens - seq.numOutput - 1, maxLen - seq.tokens.length));
    const own = seq.table.cost(1, pool);
    while (d > 0 && seq.table.cost(1 + d, pool) - own > spareBlocks) d--;
    if (seq.draft.length > d) seq.draft = seq.draft.slice(0, d);
    spare -= d;
    spareBlocks -= seq.table.cost(1 + d, pool) - own;
  }
}

/**
 * After a verification chunk: the first `accepted` drafted tokens join the sequence, and the
 * slots of the rejected ones are released (the table truncated to the verified tokens).
 */
export function rollback(seq: Sequence<unknown>, chunk: ScheduledChunk, accepted: number, pool: BlockPool): void {
  const drafted = chunk.verify ?? 0;
  if (!Number.isInteger(accepted) || accepted < 0 || accepted > drafted) throw new RangeError(`${accepted} accepted tokens for ${seq.id}, which drafted ${drafted}`);
  seq.table.truncate(seq.table.numTokens - (drafted - accepted), pool);
  for (let i = 1; i <= accepted; i++) seq.appendToken(chunk.tokens[i]);
}
