/**
 * What one forward call computes: for each sequence in the batch, a chunk of new tokens
 * (a prefill chunk, or a single decode token) at consecutive positions, and the block table
 * through which its K and V, past and new, are addressed. Both backends (cpu, gpu) read
 * the KV cache only through these tables.
 */
export interface SequenceChunk {
  /** Token ids to run through the model, at positions startPos, startPos+1, ... */
  tokens: readonly number[];
  /** Position of tokens[0] (for RoPE). */
  startPos: number;
  /**
   * Cache entries before tokens[0], in block-table order: token i goes to entry cacheStart + i
   * (slot = blockTable[entry / blockSize] * blockSize + entry % blockSize) and attends to
   * entries 0..cacheStart + i. Absent: startPos (a table without gaps). Under eviction the
   * table has gaps in position (evicted blocks are gone, the others keep their positions), so
   * cacheStart < startPos.
   */
  cacheStart?: number;
  /** Block ids covering cache entries [0, cacheStart + tokens.length). */
  blockTable: readonly number[];
}

/** The cache entry of a chunk's first token. */
export function cacheStartOf(chunk: SequenceChunk): number {
  return chunk.cacheStart ?? chunk.startPos;
}

export interface ForwardBatch {
  chunks: readonly SequenceChunk[];
  /** 'last': logits of each chunk's last token; 'all': of every token of every chunk. */
  logits: 'last' | 'all';
}

/** The cache slot of a cache entry (a position, without gaps): block_id * block_size + offset, as in vLLM. */
export function slotOf(blockTable: readonly number[], pos: number, blockSize: number): number {
  const block = blockTable[Math.floor(pos / blockSize)];
  if (block === undefined) throw new RangeError(`position ${pos} is past the block table (${blockTable.length} blocks)`);
  return block * blockSize + (pos % blockSize);
}

/** Number of blocks needed to hold `tokens` positions. */
export function blocksFor(tokens: number, blockSize: number): number {
  return Math.ceil(tokens / blockSize);
}
