import { blocksFor } from './batch.ts';
import type { BlockPool } from './BlockPool.ts';

export type BlockId = number;

/** A block copy the GPU must do before the forward: copy-on-write of a shared block. */
export type CopyPair = readonly [src: BlockId, dst: BlockId];

/** A K-shift: rotate every key of `block` (all layers) by `delta` positions (context shift). */
export interface KeyShift {
  block: BlockId;
  delta: number;
}

/**
 * A sequence's view of the KV pool: the ids of the blocks that hold its positions, in order,
 * and how many positions are filled. Blocks are allocated as tokens are appended.
 *
 * `numTokens` may end inside the last block even when that block is already full of content:
 * after a prefix hit on a whole prompt, the last prompt token is recomputed (so that there are
 * logits to sample), and it is rewritten into a copy of the last hit block.
 */
export class BlockTable {
  readonly owner: string;
  readonly blockSize: number;
  private ids: BlockId[] = [];
  /** Position of each block's first slot: j * blockSize until eviction leaves gaps. */
  private starts: number[] = [];
  private filled = 0;
  /** Tokens whose blocks were evicted or dropped by a context shift (since the last free). */
  private dropped = 0;
  private prunedFlag = false;
  /** Leading blocks already offered to the prefix cache; only PrefixCache moves it. */
  numHashed = 0;

  constructor(owner: string, blockSize: number) {
    this.owner = owner;
    this.blockSize = blockSize;
  }

  get blocks(): readonly BlockId[] {
    return this.ids;
  }

  /** Positions [0, numTokens) are in the cache (or being written by the step in flight). */
  get numTokens(): number {
    return this.filled;
  }

  /** Blocks whose every slot is filled. */
  get numFullBlocks(): number {
    return Math.floor(this.filled / this.blockSize);
  }

  /** Tokens of the sequence this table has seen: those held plus those evicted or dropped. */
  get numSeen(): number {
    return this.filled + this.dropped;
  }

  get droppedTokens(): number {
    return this.dropped;
  }

  /**
   * Whether blocks were evicted or dropped: the KV written since attended to a pruned (or
   * re-rotated) context, so it is not what the token prefix's hash chain stands for, and the
   * prefix cache hashes none of this table's blocks any more (PrefixCache.commit).
   */
  get pruned(): boolean {
    return this.prunedFlag;
  }

  /** First positions of the blocks, in table order. */
  get blockStarts(): readonly number[] {
    return this.starts;
  }

  /**
   * The position (for RoPE) of cache entry `index` (in block-table order), past the end too:
   * blocks after the last continue its positions.
   */
  positionAt(index: number): number {
    const bs = this.blockSize;
    const j = Math.floor(index / bs);
    if (j < this.ids.length) return this.starts[j] + (index % bs);
    const n = this.ids.length;
    return (n === 0 ? 0 : this.starts[n - 1] + bs) + (j - n) * bs + (index % bs);
  }

  /**
   * Evicts whole full blocks at table indices `indices` (never the last block, which is being
   * filled): releases them and closes the table over the gap. The tokens after keep their
   * positions, so the attention reads a table with gaps in position.
   */
  evict(indices: readonly number[], pool: BlockPool): void {
    const drop = new Set(indices);
    for (const i of drop) {
      if (!Number.isInteger(i) || i < 0 || i >= this.numFullBlocks || i === this.ids.length - 1) {
        throw new RangeError(`block ${i} of ${this.owner} is not a full block that may be evicted`);
      }
    }
    if (drop.size === 0) return;
    const keep = (_: unknown, i: number) => !drop.has(i);
    for (let i = this.ids.length - 1; i >= 0; i--) {
      if (!drop.has(i)) continue;
      pool.release(this.ids[i]);
      pool.markEvicted(this.ids[i]);
    }
    this.ids = this.ids.filter(keep);
    this.starts = this.starts.filter(keep);
    this.filled -= drop.size * this.blockSize;
    this.dropped += drop.size * this.blockSize;
    this.numHashed = Math.min(this.numHashed, this.numFullBlocks);
    this.prunedFlag = true;
  }

  /**
   * Context shift: drops the full blocks at `indices`, then moves every kept block to the
   * contiguous positions j * blockSize. Returns the key rotations the device must apply and the
   * copies it must make first. A kept block that must move and that another table holds is
   * replaced by a private copy (the others keep the old content); one held by this table alone
   * loses its hash, if it had one, before it is rotated in place. So a shifted block is never
   * reachable through its old hash chain nor by another sequence. Null (nothing changed) when
   * the pool lacks blocks for those copies.
   */
  shift(indices: readonly number[], pool: BlockPool): { copies: CopyPair[]; shifts: KeyShift[] } | null {
    const drop = new Set(indices);
    let copiesNeeded = 0;
    let j = 0;
    this.ids.forEach((b, i) => {
      if (drop.has(i)) return;
      if (this.starts[i] !== j * this.blockSize && pool.refCount(b) > 1) copiesNeeded++;
      j++;
    });
    // Dropped blocks this table alone holds are free once dropped: copies may land there.
    let freed = 0;
    for (const i of drop) if (pool.refCount(this.ids[i]) === 1 && !pool.isStepRead(this.ids[i])) freed++;
    if (copiesNeeded > pool.numCopyDestinations + freed) return null;
    this.evict(indices, pool);
    this.prunedFlag = true;
    const copies: CopyPair[] = [];
    const shifts: KeyShift[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const delta = i * this.blockSize - this.starts[i];
      if (delta === 0) continue;
      if (pool.refCount(this.ids[i]) === 1) pool.forgetHash(this.ids[i]);
      else {
        const src = this.ids[i];
        const dst = pool.allocate('copy');
        pool.setScore(dst, pool.scoreOf(src));
        pool.markStepRead(src);
        pool.release(src);
        this.ids[i] = dst;
        copies.push([src, dst]);
      }
      shifts.push({ block: this.ids[i], delta });
      this.starts[i] = i * this.blockSize;
    }
    return { copies, shifts };
  }

  /** Starts an empty table from prefix-cache hits: holds the blocks, counts `numTokens` of them as filled. */
  adopt(hits: readonly BlockId[], numTokens: number, pool: BlockPool): void {
    if (this.ids.length > 0) throw new Error(`table of ${this.owner} is not empty`);
    if (numTokens > hits.length * this.blockSize || blocksFor(numTokens, this.blockSize) < hits.length - 1) {
      throw new RangeError(`${numTokens} tokens do not match ${hits.length} hit blocks`);
    }
    for (const b of hits) pool.retain(b);
    this.ids = [...hits];
    this.starts = hits.map((_, j) => j * this.blockSize);
    this.filled = numTokens;
    this.numHashed = Math.min(hits.length, this.numFullBlocks);
  }

  /** Free blocks that appending `count` tokens would take (copy-on-write included). */
  cost(count: number, pool: BlockPool): number {
    return appendCost(this.ids, this.filled, count, this.blockSize, pool);
  }

  /**
   * Makes room for `count` more tokens: allocates the blocks they need and, when the first of
   * them lands in a block that is shared or hashed (whose content must not change under its
   * other holders or its hash), swaps in a private copy. Returns the copies the GPU must do
   * first, or null (and changes nothing) when the pool lacks free blocks. Part of planning a
   * step: the copy's source may not become another copy's destination until the pool's
   * `endStep`, and the destination is fresh from the free queue (src/kv/copyPlan.ts).
   */
  append(count: number, pool: BlockPool): CopyPair[] | null {
    if (!appendFits(this.ids, this.filled, count, this.blockSize, pool)) return null;
    const copies: CopyPair[] = [];
    const first = Math.floor(this.filled / this.blockSize);
    if (first < this.ids.length && count > 0 && !isWritable(this.ids[first], pool)) {
      const src = this.ids[first];
      const dst = pool.allocate('copy');
      pool.markStepRead(src);
      pool.release(src);
      this.ids[first] = dst;
      copies.push([src, dst]);
    }
    const needed = blocksFor(this.filled + count, this.blockSize);
    while (this.ids.length < needed) {
      this.starts.push(this.positionAt(this.ids.length * this.blockSize));
      this.ids.push(pool.allocate());
    }
    this.filled += count;
    return copies;
  }

  /**
   * Speculative decoding's rollback: forgets the cache entries from `numTokens` on (the slots of
   * rejected draft tokens, written by the step just run) and releases the blocks past the new
   * end, tail first. Hashed blocks are never cut: only entries past every hashed block may go,
   * and the kept last block, if partly filled, stays unhashed (PrefixCache.commit hashes full
   * blocks only), so its stale slots are overwritten by the next append before anything reads them.
   */
  truncate(numTokens: number, pool: BlockPool): void {
    if (!Number.isInteger(numTokens) || numTokens < this.numHashed * this.blockSize || numTokens > this.filled) {
      throw new RangeError(`${this.owner} cannot be truncated to ${numTokens} of ${this.filled} entries (${this.numHashed} blocks hashed)`);
    }
    const keep = blocksFor(numTokens, this.blockSize);
    for (let j = this.ids.length - 1; j >= keep; j--) pool.release(this.ids[j]);
    this.ids.length = keep;
    this.starts.length = keep;
    this.filled = numTokens;
  }

  /** A second table over the same blocks (each held once more): the start of a fork. */
  fork(owner: string, pool: BlockPool): BlockTable {
    const child = new BlockTable(owner, this.blockSize);
    for (const b of this.ids) pool.retain(b);
    child.ids = [...this.ids];
    child.starts = [...this.starts];
    child.filled = this.filled;
    child.dropped = this.dropped;
    child.prunedFlag = this.prunedFlag;
    child.numHashed = this.numHashed;
    return child;
  }

  /** Releases every block, tail first, and empties the table. */
  free(pool: BlockPool): void {
    pool.releaseChain(this.ids);
    this.ids = [];
    this.starts = [];
    this.filled = 0;
    this.dropped = 0;
    this.prunedFlag = false;
    this.numHashed = 0;
  }
}

/** A block can be written in place only by its sole holder, and only while it has no hash. */
export function isWritable(block: BlockId, pool: BlockPool): boolean {
  return pool.refCount(block) === 1 && pool.hashOf(block) === undefined;
}

/** Whether a write of `count` tokens after `filled` must first copy its block (shared or hashed). */
function needsCopy(blocks: readonly BlockId[], filled: number, count: number, blockSize: number, pool: BlockPool): boolean {
  const first = Math.floor(filled / blockSize);
  return count > 0 && first < blocks.length && !isWritable(blocks[first], pool);
}

/**
 * Whether appending `count` tokens fits now: enough free blocks (appendCost), and for a
 * copy-on-write, a free block that no copy of this step reads (src/kv/copyPlan.ts), counting
 * out the held blocks that are free (prefix hits not yet retained) since retaining takes them.
 */
export function appendFits(blocks: readonly BlockId[], filled: number, count: number, blockSize: number, pool: BlockPool): boolean {
  if (appendCost(blocks, filled, count, blockSize, pool) > pool.numFree) return false;
  if (!needsCopy(blocks, filled, count, blockSize, pool)) return true;
  let revived = 0;
  for (const b of new Set(blocks)) if (pool.refCount(b) === 0 && !pool.isStepRead(b)) revived++;
  return pool.numCopyDestinations - revived >= 1;
}

/**
 * Free blocks needed to append `count` tokens to a table holding `blocks` with `filled`
 * positions: fresh blocks, one more for copy-on-write, and one per held block that is now free
 * (a prefix hit not yet retained), since retaining it takes it out of the free queue.
 */
export function appendCost(
  blocks: readonly BlockId[],
  filled: number,
  count: number,
  blockSize: number,
  pool: BlockPool,
): number {
  const fresh = Math.max(0, blocksFor(filled + count, blockSize) - blocks.length);
  const copy = needsCopy(blocks, filled, count, blockSize, pool) ? 1 : 0;
  let revived = 0;
  for (const b of blocks) if (pool.refCount(b) === 0) revived++;
  return fresh + copy + revived;
}
