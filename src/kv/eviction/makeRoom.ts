import { blocksFor } from '../batch.ts';
import type { BlockPool } from '../BlockPool.ts';
import type { BlockTable, CopyPair, KeyShift } from '../BlockTable.ts';
import type { KvLimit } from './KvLimit.ts';
import { chooseVictims, shiftDropCount } from './victims.ts';

/** What making room for an append did: how many tokens fit now, and the device work it needs first. */
export interface Room {
  /** Tokens that may be appended now: 1 <= count <= what was asked. */
  count: number;
  /** Copies of shared or hashed blocks a context shift must move (they run before `shifts`). */
  copies: CopyPair[];
  /** Key rotations of a context shift. */
  shifts: KeyShift[];
  /** Tokens evicted or dropped now. */
  evicted: number;
}

/**
 * Before `want` tokens are appended to `table`: evicts blocks so that the table never holds
 * more than its budget plus the block being filled (capping `want` when even evicting every
 * candidate would not make room), then, at the trained context `maxLen`, either caps the
 * append at the context or, for overflow 'shift', shifts the context. Null when the shift
 * needs copies the pool cannot give now (the evictions done stand; a retry does not repeat
 * them). A limit without a budget and with overflow 'refuse' changes nothing.
 *
 * Invariant kept (asserted in kv.property.test.ts): after the append that follows, the
 * table holds at most maxHeldBlocks(limit) blocks and every position is below maxLen.
 */
export function makeRoom(table: BlockTable, want: number, limit: KvLimit, pool: BlockPool, maxLen: number | undefined): Room | null {
  const bs = table.blockSize;
  let count = want;
  let evicted = 0;
  if (limit.budgetBlocks !== null) {
    const held = limit.budgetBlocks + 1;
    if (blocksFor(table.numTokens + count, bs) > held) {
      const first = limit.sinkBlocks;
      // Never the block being filled: the next block's positions continue from it.
      const end = Math.min(table.numFullBlocks - limit.recentBlocks, table.blocks.length - 1);
      const candidates = Math.max(0, end - first);
      count = Math.min(count, held * bs - (table.numTokens - candidates * bs));
      if (count < 1) throw new Error(`${table.owner} cannot keep its KV budget of ${limit.budgetBlocks} blocks`);
      const k = blocksFor(table.numTokens + count, bs) - held;
      if (k > 0) {
        const victims = chooseVictims(limit.policy, first, end, k, (i) => pool.scoreOf(table.blocks[i]), limit.random);
        table.evict(victims, pool);
        evicted += k * bs;
      }
    }
  }
  const copies: CopyPair[] = [];
  const shifts: KeyShift[] = [];
  if (maxLen !== undefined && table.positionAt(table.numTokens) + count > maxLen) {
    if (limit.overflow !== 'shift') throw new Error(`${table.owner} would pass the context of ${maxLen} positions`);
    if (table.positionAt(table.numTokens) >= maxLen) {
      const droppable = Math.max(0, Math.min(table.numFullBlocks, table.blocks.length - 1) - limit.sinkBlocks);
      const d = shiftDropCount(table.numTokens, droppable, Math.min(want, bs), maxLen, bs);
      const indices = Array.from({ length: d }, (_, i) => limit.sinkBlocks + i);
      const moved = table.shift(indices, pool);
      if (!moved) return null;
      copies.push(...moved.copies);
      shifts.push(...moved.shifts);
      evicted += d * bs;
    }
    count = Math.min(count, maxLen - table.positionAt(table.numTokens));
    if (count < 1) throw new Error(`${table.owner}: a context shift left no room under ${maxLen} positions`);
  }
  return { count, copies, shifts, evicted };
}
