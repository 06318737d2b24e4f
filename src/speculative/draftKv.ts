import { blocksFor } from '../kv/batch.ts';
import { BlockPool } from '../kv/BlockPool.ts';
import type { BlockId } from '../kv/BlockTable.ts';

/** What the draft model's cache holds for one sequence: its tokens (positions 0..) and their blocks. */
export interface DraftSequence {
  readonly seqId: string;
  /** tokens[i] is in the cache at position i. */
  tokens: number[];
  blocks: BlockId[];
}

/**
 * The draft model's own paged KV: a block pool and, per sequence, the tokens it holds, in
 * least-recently-used order. Nothing is shared or hashed (a drafted token is a guess, never
 * worth a prefix-cache entry), so every block has one holder and a sequence may write any of
 * its slots in place: cutting it back to a prefix (the rollback) only lets go of the blocks
 * past that prefix.
 *
 * Invariant: every block is either free in the pool or in exactly one sequence's `blocks`,
 * and a sequence holds exactly blocksFor(reserved positions) blocks.
 */
export class DraftKv {
  readonly pool: BlockPool;
  /** Map order is use order: the first entry is the least recently used. */
  private readonly seqs = new Map<string, DraftSequence>();

  constructor(
    numBlocks: number,
    readonly blockSize: number,
  ) {
    this.pool = new BlockPool(numBlocks);
  }

  get numSequences(): number {
    return this.seqs.size;
  }

  has(seqId: string): boolean {
    return this.seqs.has(seqId);
  }

  /** The sequences held, least recently used first. */
  sequences(): DraftSequence[] {
    return [...this.seqs.values()];
  }

  /** The sequence, marked most recently used (created empty when new). */
  touch(seqId: string): DraftSequence {
    const seq = this.seqs.get(seqId) ?? { seqId, tokens: [], blocks: [] };
    this.seqs.delete(seqId);
    this.seqs.set(seqId, seq);
    return seq;
  }

  /** Keeps the first `n` tokens and the blocks they need; the rest of the blocks go back to the pool. */
  truncate(seq: DraftSequence, n: number): void {
    if (n < seq.tokens.length) seq.tokens.length = n;
    const keep = blocksFor(seq.tokens.length, this.blockSize);
    if (seq.blocks.length > keep) this.pool.releaseChain(seq.blocks.splice(keep));
  }

  /**
   * Makes `seq` hold blocks for `positions` positions, freeing least recently used sequences
   * outside `protect` when the pool runs short. False (and `seq` unchanged) when even that
   * does not make room.
   */
  reserve(seq: DraftSequence, positions: number, protect: ReadonlySet<string>): boolean {
    const need = blocksFor(positions, this.blockSize) - seq.blocks.length;
    if (need <= 0) return true;
    for (const victim of this.seqs.values()) {
      if (this.pool.numFree >= need) break;
      if (victim !== seq && !protect.has(victim.seqId)) this.release(victim.seqId);
    }
    if (this.pool.numFree < need) return false;
    for (let i = 0; i < need; i++) seq.blocks.push(this.pool.allocate());
    return true;
  }

  /** Forgets a sequence and frees its blocks; unknown ids are ignored (release is idempotent). */
  release(seqId: string): void {
    const seq = this.seqs.get(seqId);
    if (!seq) return;
    this.pool.releaseChain(seq.blocks);
    seq.blocks = [];
    seq.tokens = [];
    this.seqs.delete(seqId);
  }

  /** Frees every sequence: after a failed forward the cache's content is unknown. */
  clear(): void {
    for (const id of [...this.seqs.keys()]) this.release(id);
  }
}
