import { KvCacheFullError } from '../errors.ts';
import type { BlockId } from './BlockTable.ts';
import { FreeQueue } from './FreeQueue.ts';
import type { BlockHash } from './hash.ts';

export type EvictListener = (block: BlockId, hash: BlockHash) => void;

/**
 * The fixed set of KV blocks: a reference count per block (how many block tables hold it)
 * and a free queue of the blocks nobody holds.
 *
 * A freed block keeps its hash (if it was a full, hashed block) so that a later prefix hit can
 * revive it without recomputing; such a block is "cached". The queue is in LRU order: freed
 * hashed blocks join the back, and allocation takes the front, evicting the hash of the block
 * it takes. Freed blocks without a hash join the front, since keeping them is worth nothing.
 */
export class BlockPool {
  readonly numBlocks: number;
  private readonly refs: Int32Array;
  private readonly hashes: (BlockHash | undefined)[];
  private readonly persisted: Uint8Array;
  /** Free blocks a KV budget or a context shift evicted, until they are reused (for the memory map). */
  private readonly evictedMarks: Uint8Array;
  /** Per block, its eviction score (mean ||V|| / ||K|| of its tokens); NaN until scored. */
  private readonly scores: Float32Array;
  private readonly free: FreeQueue;
  private readonly evictListeners: EvictListener[] = [];
  /**
   * Blocks that the copies of the step being planned read (copy-on-write sources). Keeps the
   * copy-plan invariant (src/kv/copyPlan.ts): until the plan is sealed (`endStep`), such a
   * block is never a copy's destination, even once its last holder has let go of it. It may
   * still be handed out as a fresh block: the forward writes those after the copies have run.
   */
  private readonly stepReads = new Set<BlockId>();

  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    this.numBlocks = numBlocks;
    this.refs = new Int32Array(numBlocks);
    this.hashes = new Array<BlockHash | undefined>(numBlocks).fill(undefined);
    this.persisted = new Uint8Array(numBlocks);
    this.scores = new Float32Array(numBlocks).fill(NaN);
    this.evictedMarks = new Uint8Array(numBlocks);
    this.free = new FreeQueue(numBlocks);
    for (let b = 0; b < numBlocks; b++) this.free.pushBack(b);
  }

  /** Blocks that can be allocated now: empty ones and cached ones (whose hash would go). */
  get numFree(): number {
    return this.free.size;
  }

  get numUsed(): number {
    return this.numBlocks - this.free.size;
  }

  refCount(block: BlockId): number {
    return this.refs[block];
  }

  hashOf(block: BlockId): BlockHash | undefined {
    return this.hashes[block];
  }

  /** The block's eviction score; NaN until the device scored it. Its content, hence its score, lasts until it is allocated again. */
  scoreOf(block: BlockId): number {
    return this.scores[block];
  }

  setScore(block: BlockId, score: number): void {
    this.scores[block] = score;
  }

  /** A table evicted the block (KV budget, context shift) and nobody holds it since. */
  isEvicted(block: BlockId): boolean {
    return this.evictedMarks[block] === 1;
  }

  /** Marks a block a table just evicted, if that freed it. */
  markEvicted(block: BlockId): void {
    if (this.refs[block] === 0) this.evictedMarks[block] = 1;
  }

  isPersisted(block: BlockId): boolean {
    return this.persisted[block] === 1;
  }

  isFree(block: BlockId): boolean {
    return this.free.has(block);
  }

  /** Free blocks front to back, the order in which allocation would take them. */
  freeOrder(): BlockId[] {
    return [...this.free];
  }

  /** Called whenever a block loses its hash (the prefix cache forgets it). */
  onEvict(listener: EvictListener): void {
    this.evictListeners.push(listener);
  }

  /**
   * Takes the least recently freed block, with a reference count of 1; for a copy's
   * destination, the least recently freed one that no copy of the step being planned reads.
   */
  allocate(purpose: 'fresh' | 'copy' = 'fresh'): BlockId {
    const block = purpose === 'fresh' ? this.free.peekFront() : this.firstCopyDestination();
    if (block === undefined) throw new KvCacheFullError(`all ${this.numBlocks} KV blocks are in use`);
    this.free.remove(block);
    this.evictHash(block);
    this.refs[block] = 1;
    this.scores[block] = NaN;
    this.evictedMarks[block] = 0;
    return block;
  }

  /** Free blocks that may become a copy's destination in the step being planned. */
  get numCopyDestinations(): number {
    let read = 0;
    for (const b of this.stepReads) if (this.free.has(b)) read++;
    return this.free.size - read;
  }

  /** Whether a copy of the step being planned reads `block`. */
  isStepRead(block: BlockId): boolean {
    return this.stepReads.has(block);
  }

  /** The step being planned copies from `block`: it may not be a copy's destination until `endStep`. */
  markStepRead(block: BlockId): void {
    this.stepReads.add(block);
  }

  /** The step's plan is sealed (its copies run before anything else writes a block). */
  endStep(): void {
    this.stepReads.clear();
  }

  private firstCopyDestination(): BlockId | undefined {
    for (const b of this.free) if (!this.stepReads.has(b)) return b;
    return undefined;
  }

  /** One more holder; a free (cached) block leaves the free queue: a prefix hit revives it. */
  retain(block: BlockId): void {
    if (this.refs[block] === 0) this.free.remove(block);
    this.evictedMarks[block] = 0;
    this.refs[block]++;
  }

  /** One holder fewer; at zero the block joins the free queue and keeps its hash. */
  release(block: BlockId): void {
    if (this.refs[block] <= 0) throw new Error(`block ${block} is released more often than it was held`);
    if (--this.refs[block] > 0) return;
    if (this.hashes[block] === undefined) this.free.pushFront(block);
    else this.free.pushBack(block);
  }

  /**
   * Releases a sequence's chain of blocks tail first, so that its head (the part other prompts
   * most likely share) is freed last and therefore evicted last.
   */
  releaseChain(blocks: readonly BlockId[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) this.release(blocks[i]);
  }

  /** Content-addresses a held block. A block's content, hence its hash, is set once. */
  setHash(block: BlockId, hash: BlockHash): void {
    if (this.refs[block] === 0) throw new Error(`block ${block} is free and cannot be hashed`);
    if (this.hashes[block] !== undefined) throw new Error(`block ${block} already has a hash`);
    this.hashes[block] = hash;
  }

  /** Marks a hashed block as saved elsewhere (IndexedDB); the mark goes with its hash. */
  markPersisted(block: BlockId): void {
    if (this.hashes[block] === undefined) throw new Error(`block ${block} has no hash to persist`);
    this.persisted[block] = 1;
  }

  /** Takes the mark back: the block's copy elsewhere is gone (the store was cleared). */
  unmarkPersisted(block: BlockId): void {
    this.persisted[block] = 0;
  }

  /**
   * Drops the hashes of up to `max` cached free blocks, least recently used first, and moves
   * them to the front of the queue; returns how many were evicted.
   */
  evictCached(max = Infinity): number {
    const victims: BlockId[] = [];
    for (const b of this.free) {
      if (victims.length >= max) break;
      if (this.hashes[b] !== undefined) victims.push(b);
    }
    for (let i = victims.length - 1; i >= 0; i--) {
      const b = victims[i];
      this.evictHash(b);
      this.free.remove(b);
      this.free.pushFront(b);
    }
    return victims.length;
  }

  /**
   * Takes a held block's hash away (the prefix cache forgets it): its holder is about to change
   * its content in place (a context shift re-rotating its keys).
   */
  forgetHash(block: BlockId): void {
    if (this.refs[block] === 0) throw new Error(`block ${block} is free: evict it instead`);
    this.evictHash(block);
  }

  private evictHash(block: BlockId): void {
    const hash = this.hashes[block];
    if (hash === undefined) return;
    this.hashes[block] = undefined;
    this.persisted[block] = 0;
    for (const listener of this.evictListeners) listener(block, hash);
  }
}
