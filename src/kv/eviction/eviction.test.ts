import { describe, expect, it } from 'vitest';
import { BlockPool } from '../BlockPool.ts';
import { BlockTable } from '../BlockTable.ts';
import { KvCache } from '../KvCache.ts';
import { budgetBlocksOf, type KvLimit, maxHeldBlocks, NO_LIMIT } from './KvLimit.ts';
import { makeRoom } from './makeRoom.ts';
import { chooseVictims, shiftDropCount } from './victims.ts';

const BS = 4;
const limit = (over: Partial<KvLimit>): KvLimit => ({ ...NO_LIMIT, ...over });

/** A table of `tokens` entries, written one append per block as decoding would. */
function filled(pool: BlockPool, tokens: number): BlockTable {
  const t = new BlockTable('s', BS);
  for (let i = 0; i < tokens; i++) t.append(1, pool);
  return t;
}

describe('eviction policies', () => {
  const scores = [0.9, 0.1, 0.5, 0.3, 0.2, 0.8];
  it('window takes the oldest candidates, paged-eviction the lowest scores, random draws among the candidates', () => {
    expect(chooseVictims('window', 1, 5, 2, (i) => scores[i])).toEqual([1, 2]);
    expect(chooseVictims('paged-eviction', 1, 5, 2, (i) => scores[i])).toEqual([1, 4]);
    expect(chooseVictims('paged-eviction', 2, 5, 1, (i) => scores[i])).toEqual([4]);
    const drawn = chooseVictims('random', 1, 5, 2, (i) => scores[i], () => 0.99);
    expect(drawn).toHaveLength(2);
    expect(drawn.every((i) => i >= 1 && i < 5)).toBe(true);
  });

  it('paged-eviction keeps unscored blocks while scored ones can go, and breaks ties by age', () => {
    expect(chooseVictims('paged-eviction', 0, 3, 1, (i) => [NaN, 5, 7][i])).toEqual([1]);
    expect(chooseVictims('paged-eviction', 0, 3, 1, () => 1)).toEqual([0]);
    expect(() => chooseVictims('window', 0, 2, 3, () => 0)).toThrow(RangeError);
  });

  it('a budget leaves a block to evict besides the sink and the recent one', () => {
    expect(budgetBlocksOf(256, 16)).toBe(16);
    expect(budgetBlocksOf(47, 16)).toMatch(/at least 48 tokens/);
    expect(budgetBlocksOf(0, 16)).toMatch(/positive integer/);
    expect(maxHeldBlocks(limit({ budgetBlocks: 3 }))).toBe(4);
  });

  it('a shift drops nothing when re-rotating leaves room, else at least half of the droppable blocks', () => {
    expect(shiftDropCount(40, 8, 1, 64, 16)).toBe(0);
    expect(shiftDropCount(64, 3, 1, 64, 16)).toBe(1);
    expect(shiftDropCount(512, 30, 1, 512, 16)).toBe(15);
  });
});

describe('makeRoom', () => {
  it('holds at most budget + 1 blocks, evicting the lowest-scoring candidate; positions keep their gaps', () => {
    const pool = new BlockPool(16);
    const t = filled(pool, 4 * BS);
    [0.5, 0.1, 0.7, 0.9].forEach((s, i) => pool.setScore(t.blocks[i], s));
    const evicted = t.blocks[1];
    const room = makeRoom(t, 1, limit({ budgetBlocks: 3, policy: 'paged-eviction' }), pool, undefined)!;
    expect(room).toMatchObject({ count: 1, evicted: BS, copies: [], shifts: [] });
    expect(t.blocks).not.toContain(evicted);
    expect(pool.isFree(evicted)).toBe(true);
    t.append(1, pool);
    expect(t.blocks).toHaveLength(4);
    expect(t.blockStarts).toEqual([0, 8, 12, 16]);
    expect(t.positionAt(t.numTokens - 1)).toBe(16);
    expect(t.numSeen).toBe(4 * BS + 1);
    expect(t.pruned).toBe(true);
  });

  it('caps a prefill chunk at what evicting every candidate makes room for', () => {
    const pool = new BlockPool(16);
    const t = filled(pool, 4 * BS);
    const room = makeRoom(t, 40, limit({ budgetBlocks: 3, policy: 'window' }), pool, undefined)!;
    // Sink and recent blocks stay: 2 blocks held, so 2 more blocks fit under budget + 1.
    expect(room.count).toBe(2 * BS);
    expect(room.evicted).toBe(2 * BS);
  });

  it('at the context, shifts: drops after the sink, re-rotates the rest to contiguous positions, and unhashes what it rotates', () => {
    const kv = new KvCache({ numBlocks: 16, blockSize: BS, modelFingerprint: 'fp' });
    const t = kv.createTable('s');
    const tokens = Array.from({ length: 8 * BS }, (_, i) => i % 7);
    const chain = kv.prefix.newChain();
    t.append(tokens.length, kv.pool);
    kv.prefix.commit(t, chain, tokens);
    const kept = t.blocks[5];
    expect(kv.pool.hashOf(kept)).toBeDefined();
    const room = makeRoom(t, 1, limit({ overflow: 'shift' }), kv.pool, 8 * BS)!;
    // 7 droppable (never the last block): half of them, 3, go.
    expect(room.evicted).toBe(3 * BS);
    expect(t.blockStarts).toEqual([0, 4, 8, 12, 16]);
    expect(room.shifts.map((s) => s.delta)).toEqual([-12, -12, -12, -12]);
    expect(room.copies).toEqual([]);
    expect(kv.pool.hashOf(kept)).toBeUndefined();
    expect(kv.prefix.lookup(kv.prefix.newChain(), tokens)).toHaveLength(4); // blocks 0..3 were not rotated
    expect(kv.pool.hashOf(t.blocks[0])).toBeDefined();
  });

  it('a shift copies a block another table holds, so the other keeps its keys', () => {
    const kv = new KvCache({ numBlocks: 16, blockSize: BS, modelFingerprint: 'fp' });
    const t = kv.createTable('s');
    t.append(4 * BS, kv.pool);
    const other = kv.forkTable(t, 'o');
    const before = [...t.blocks];
    const room = makeRoom(t, 1, limit({ overflow: 'shift' }), kv.pool, 4 * BS)!;
    // Block 1 dropped; blocks 2 and 3, shared with the fork, move by one block: each is copied first.
    expect(room.copies).toEqual([[before[2], t.blocks[1]], [before[3], t.blocks[2]]]);
    expect(room.shifts).toEqual([{ block: t.blocks[1], delta: -BS }, { block: t.blocks[2], delta: -BS }]);
    expect(other.blocks).toEqual(before);
    expect(t.blocks[0]).toBe(before[0]);
  });

  it('with no block free, a shift copies into the blocks it drops; it is refused only where none of those is its own', () => {
    // A full pool of 8: t holds all of them (32 entries, at the context); `other` also holds
    // blocks 4 and 5, or 1 to 5. The shift drops blocks 1..3 and moves 4..7 by 12 positions.
    const setup = (shared: number[]) => {
      const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'fp' });
      const t = kv.createTable('s');
      t.append(8 * BS, kv.pool);
      const other = kv.createTable('o');
      other.adopt(shared.map((i) => t.blocks[i]), shared.length * BS, kv.pool);
      expect(kv.pool.numFree).toBe(0);
      return { kv, t, other, before: [...t.blocks] };
    };
    const own = setup([4, 5]);
    const room = makeRoom(own.t, 1, limit({ overflow: 'shift' }), own.kv.pool, 8 * BS)!;
    expect(room).not.toBeNull();
    expect(room.evicted).toBe(3 * BS);
    // The two shared blocks are copied into two of the three dropped ones; 6 and 7 rotate in place.
    expect(room.copies.map(([src]) => src)).toEqual([own.before[4], own.before[5]]);
    for (const [, dst] of room.copies) expect(own.before.slice(1, 4)).toContain(dst);
    expect(room.shifts.map((s) => s.block)).toEqual([...room.copies.map(([, dst]) => dst), own.before[6], own.before[7]]);
    expect(own.other.blocks).toEqual([own.before[4], own.before[5]]);
    expect(own.t.blocks).toHaveLength(5);
    expect(own.kv.pool.numFree).toBe(1);
    // Dropped blocks that `other` holds too free nothing: no room, and nothing changed.
    const none = setup([1, 2, 3, 4, 5]);
    expect(makeRoom(none.t, 1, limit({ overflow: 'shift' }), none.kv.pool, 8 * BS)).toBeNull();
    expect(none.t.blocks).toEqual(none.before);
    expect(none.t.numTokens).toBe(8 * BS);
  });
});
