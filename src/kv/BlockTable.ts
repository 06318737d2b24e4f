import { blocksFor } from './batch.ts';
import type { BlockPool } from './BlockPool.ts';

export type BlockId = number;

/** A block copy the GPU must do before the forward: copy-on-write of a shared block. */
export type CopyPair = readonly [src: BlockId, dst: BlockId];

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
  private filled = 0;
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

  /** Starts an empty table from prefix-cache hits: holds the blocks, counts `numTokens` of them as filled. */
  adopt(hits: readonly BlockId[], numTokens: number, pool: BlockPool): void {
    if (this.ids.length > 0) throw new Error(`table of ${this.owner} is not empty`);
    if (numTokens > hits.length * this.blockSize || blocksFor(numTokens, this.blockSize) < hits.length - 1) {
      throw new RangeError(`${numTokens} tokens do not match ${hits.length} hit blocks`);
    }
    for (const b of hits) pool.retain(b);
    this.ids = [...hits];
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
    while (this.ids.length < needed) this.ids.push(pool.allocate());
    this.filled += count;
    return copies;
  }

  /** A second table over the same blocks (each held once more): the start of a fork. */
  fork(owner: string, pool: BlockPool): BlockTable {
    const child = new BlockTable(owner, this.blockSize);
    for (const b of this.ids) pool.retain(b);
    child.ids = [...this.ids];
    child.filled = this.filled;
    child.numHashed = this.numHashed;
    return child;
  }

  /** Releases every block, tail first, and empties the table. */
  free(pool: BlockPool): void {
    pool.releaseChain(this.ids);
    this.ids = [];
    this.filled = 0;
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
