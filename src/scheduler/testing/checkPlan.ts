import { cacheStartOf } from '../../kv/batch.ts';
import type { Scheduler } from '../Scheduler.ts';
import type { StepPlan } from '../StepPlan.ts';

/**
 * What any plan must satisfy right after schedule(): each chunk belongs to a running sequence,
 * carries its current block table and ends where its reserved slots end; the blocks written are
 * private and unhashed; preempted sequences have no chunk; every copy lands in a scheduled table.
 */
export function checkPlan<P>(scheduler: Scheduler<P>, plan: StepPlan): void {
  const pool = scheduler.kv.pool;
  const bs = scheduler.blockSize;
  const held = new Set<number>();
  for (const c of plan.chunks) {
    const seq = scheduler.get(c.seqId);
    if (!seq || seq.status !== 'running') throw new Error(`chunk for ${c.seqId}, which is not running`);
    if (plan.preempted.includes(c.seqId)) throw new Error(`chunk for preempted ${c.seqId}`);
    if (c.blockTable.join() !== seq.table.blocks.join()) throw new Error(`stale block table for ${c.seqId}`);
    const entry = cacheStartOf(c);
    if (entry + c.tokens.length !== seq.table.numTokens) throw new Error(`chunk of ${c.seqId} does not end at its reserved slots`);
    if (c.startPos !== seq.table.positionAt(entry)) throw new Error(`chunk of ${c.seqId} starts at position ${c.startPos}, its table says ${seq.table.positionAt(entry)}`);
    if (c.tokens.length === 0) throw new Error(`empty chunk for ${c.seqId}`);
    for (const b of c.blockTable) held.add(b);
    const first = Math.floor(entry / bs);
    const last = Math.floor((entry + c.tokens.length - 1) / bs);
    for (let i = first; i <= last; i++) {
      const b = c.blockTable[i];
      if (pool.refCount(b) !== 1 || pool.hashOf(b) !== undefined) throw new Error(`${c.seqId} would write shared or hashed block ${b}`);
    }
  }
  for (const [, dst] of plan.copies) if (!held.has(dst)) throw new Error(`copy into block ${dst}, which no chunk holds`);
}
