import { blocksFor, cacheStartOf, type ForwardBatch } from '../kv/batch.ts';
import type { ModelConfig } from '../model/config.ts';

/**
 * Chunks of up to this many rows are short (decode tokens, speculative drafts): their rows come
 * first in a step, and on a GPU its products take them through the GEMV apart from the longer
 * chunks' rows, so that a row's kernels depend on its own chunk (src/gpu/linearSteps.ts).
 */
export const SHORT_CHUNK_ROWS = 8;

/**
 * One step's batch flattened into the arrays the kernels read; rows are chunk after chunk, the
 * short chunks' (up to SHORT_CHUNK_ROWS rows each) first, each group in batch order.
 */
export interface StepInputs {
  /** Query rows (tokens) in the step. */
  rows: number;
  /** Rows of the short chunks: rows 0 .. shortRows - 1. */
  shortRows: number;
  /** [rows] token ids. */
  tokens: Uint32Array<ArrayBuffer>;
  /** [rows, 4]: position, offset of the sequence's block table in `tables`, slot, number of keys the row attends to. */
  rowMeta: Uint32Array<ArrayBuffer>;
  /** [rows, head_dim]: cos then sin of position * inv_freq, computed in f64. */
  rope: Float32Array<ArrayBuffer>;
  /** The block tables of all chunks, each cut to the blocks the chunk reaches. */
  tables: Uint32Array<ArrayBuffer>;
  /** Rows whose logits are wanted, in output order (the batch's chunk order). */
  logitRows: Uint32Array<ArrayBuffer>;
  /** Per chunk, how many logit rows it gets. */
  logitCounts: number[];
  /** Per chunk in row order, how many query rows it has (the 'gpu' set's attention groups a chunk's rows). */
  chunkRows: number[];
}

export interface CacheShape {
  blockSize: number;
  numBlocks: number;
}

/**
 * Packs a batch and checks what the GPU cannot: token ids, block tables that cover the
 * positions, block ids inside the pools, and no slot written twice in one step (a RangeError
 * rather than silently clamped or racing writes).
 */
export function packStep(batch: ForwardBatch, c: ModelConfig, cache: CacheShape, invFreq: Float64Array, logits: 'last' | 'all'): StepInputs {
  const { blockSize, numBlocks } = cache;
  const rows = batch.chunks.reduce((n, ch) => n + ch.tokens.length, 0);
  const tableLen = batch.chunks.reduce((n, ch) => n + blocksFor(cacheStartOf(ch) + ch.tokens.length, blockSize), 0);
  const tokens = new Uint32Array(rows);
  const rowMeta = new Uint32Array(rows * 4);
  const rope = new Float32Array(rows * c.headDim);
  const tables = new Uint32Array(tableLen);
  const logitRowsOf: number[][] = batch.chunks.map(() => []);
  const logitCounts: number[] = [];
  const chunkRows: number[] = [];
  const half = c.headDim / 2;
  const written = new Set<number>();
  let row = 0;
  let tableOffset = 0;
  const short = (ci: number) => batch.chunks[ci].tokens.length <= SHORT_CHUNK_ROWS;
  const order = batch.chunks.map((_, ci) => ci);
  const rowOrder = [...order.filter(short), ...order.filter((ci) => !short(ci))];
  const shortRows = rowOrder.reduce((n, ci) => n + (short(ci) ? batch.chunks[ci].tokens.length : 0), 0);
  for (const ci of rowOrder) {
    const ch = batch.chunks[ci];
    if (ch.tokens.length === 0) throw new RangeError(`chunk ${ci} has no tokens`);
    if (!Number.isInteger(ch.startPos) || ch.startPos < 0) throw new RangeError(`chunk ${ci}: bad start position ${ch.startPos}`);
    // Under eviction the table has gaps in position: entries (slot, key count) follow cacheStart, RoPE the position.
    const entry0 = cacheStartOf(ch);
    if (!Number.isInteger(entry0) || entry0 < 0 || entry0 > ch.startPos) throw new RangeError(`chunk ${ci}: bad cache start ${entry0}`);
    const need = blocksFor(entry0 + ch.tokens.length, blockSize);
    if (ch.blockTable.length < need) {
      throw new RangeError(`chunk ${ci}: cache entry ${entry0 + ch.tokens.length - 1} is past the block table (${ch.blockTable.length} blocks)`);
    }
    for (let b = 0; b < need; b++) {
      const id = ch.blockTable[b];
      if (!Number.isInteger(id) || id < 0 || id >= numBlocks) throw new RangeError(`chunk ${ci}: block id ${id} is outside the cache (${numBlocks} blocks)`);
      tables[tableOffset + b] = id;
    }
    ch.tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) throw new RangeError(`chunk ${ci}: token id ${t} is outside the vocabulary (${c.vocabSize})`);
      const pos = ch.startPos + i;
      const entry = entry0 + i;
      const slot = ch.blockTable[Math.floor(entry / blockSize)] * blockSize + (entry % blockSize);
      if (written.has(slot)) throw new RangeError(`chunk ${ci}: slot ${slot} is written twice in one step`);
      written.add(slot);
      tokens[row] = t;
      rowMeta.set([pos, tableOffset, slot, entry + 1], row * 4);
      for (let j = 0; j < half; j++) {
        const angle = pos * invFreq[j];
        rope[row * c.headDim + j] = Math.cos(angle);
        rope[row * c.headDim + half + j] = Math.sin(angle);
      }
      if (logits === 'all' || i === ch.tokens.length - 1) logitRowsOf[ci].push(row);
      row++;
    });
    chunkRows.push(ch.tokens.length);
    tableOffset += need;
  }
  for (const ch of batch.chunks) logitCounts.push(logits === 'all' ? ch.tokens.length : 1);
  return { rows, shortRows, tokens, rowMeta, rope, tables, logitRows: Uint32Array.from(logitRowsOf.flat()), logitCounts, chunkRows };
}
