/**
 * How much KV one sequence may hold and what happens at the model's trained context.
 *
 * budget: at most `budgetBlocks` full blocks plus the one being filled are held; when a new
 * block would pass that, whole blocks are evicted by `policy` (PagedEviction, Chitty-Venkata
 * et al. 2025: structured block-wise pruning, no change to the attention kernel):
 * - 'window': StreamingLLM (Xiao et al. 2023): the first `sinkBlocks` blocks as attention sinks,
 *   then the most recent blocks; the oldest block after the sinks goes first.
 * - 'paged-eviction': the lowest-scoring block that is neither a sink nor among the
 *   `recentBlocks` newest full blocks, a block's score being the mean of its tokens'
 *   ||V|| / ||K|| over layers and KV heads (computed on the device when the block fills).
 * - 'random': a uniformly drawn block of the same candidates (a baseline for the bench).
 * Evicted tokens keep their positions: their neighbours' keys are already rotated.
 *
 * overflow: what a sequence does when its next position reaches the trained context:
 * 'refuse' (the request is refused up front, ContextLengthError) or 'shift' (blocks after the
 * sinks are dropped and the kept keys re-rotated to contiguous positions, as llama.cpp's
 * context shift does).
 */
export type EvictionPolicy = 'none' | 'window' | 'paged-eviction' | 'random';
export type ContextOverflow = 'refuse' | 'shift';

export interface KvLimit {
  /** Full blocks held besides the one being filled; null: no budget. */
  budgetBlocks: number | null;
  policy: EvictionPolicy;
  overflow: ContextOverflow;
  /** Leading blocks never evicted nor dropped by a shift (attention sinks). */
  sinkBlocks: number;
  /** Newest full blocks 'paged-eviction' never evicts. */
  recentBlocks: number;
  /** For 'random': a uniform draw in [0, 1). */
  random?: () => number;
}

export const NO_LIMIT: KvLimit = { budgetBlocks: null, policy: 'none', overflow: 'refuse', sinkBlocks: 1, recentBlocks: 1 };

/** The policies a user may ask for ('random' is the bench's baseline). */
export const USER_POLICIES: readonly EvictionPolicy[] = ['none', 'window', 'paged-eviction'];

/**
 * A budget in tokens as blocks, or why it cannot be one: it must leave at least one block
 * that may be evicted besides the sinks and the protected recent blocks.
 */
export function budgetBlocksOf(tokens: number, blockSize: number, sinkBlocks = 1, recentBlocks = 1): number | string {
  if (!Number.isInteger(tokens) || tokens < 1) return `must be a positive integer, got ${tokens}`;
  const blocks = Math.floor(tokens / blockSize);
  const least = (sinkBlocks + recentBlocks + 1) * blockSize;
  if (blocks < sinkBlocks + recentBlocks + 1) return `must be at least ${least} tokens (${sinkBlocks} sink block, ${recentBlocks} recent block and one block to evict, of ${blockSize} tokens), got ${tokens}`;
  return blocks;
}

/** Blocks a sequence under `limit` holds at most: its budget plus the block being filled. */
export function maxHeldBlocks(limit: KvLimit): number {
  return limit.budgetBlocks === null ? Infinity : limit.budgetBlocks + 1;
}
