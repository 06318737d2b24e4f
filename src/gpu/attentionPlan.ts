/**
 * The work list of the 'gpu' set's paged attention (flash-decoding, wgsl/attention_partial.wgsl
 * and wgsl/attention_reduce.wgsl), planned on the host from one step's rows.
 *
 * An item is a run of keys [k0, k1) of one block table and up to `maxQueries` query rows that
 * attend to it; one workgroup per (item, kv head) loads each key's K and V once into workgroup
 * memory and scores it against every query head of those rows (GQA). Each (item, row) gives a
 * partial softmax (max, sum, accumulator); the reduce pass merges a row's partials. A row with
 * one item skips the reduce: the item writes its output directly.
 *
 * Items come from three places, in this order:
 * - shared prefixes (option): decoding rows whose tables start with the same blocks
 *   (src/gpu/sharedPrefix.ts) get one item per `splitKeys` keys of each shared segment for
 *   all of them, so a shared block is read once per step, not once per sequence;
 * - the rest of each decoding row's keys, split every `splitKeys` keys (flash-decoding);
 * - a prefill chunk's rows in groups of `maxQueries` consecutive rows, each group's keys split
 *   likewise, each row masked to its own count of keys (causal).
 * A row's items depend only on its own chunk unless shared prefixes are on, so a mixed batch
 * computes each row exactly as a solo run would.
 *
 * Row metadata is stepInputs' rowMeta: x position, y block-table offset, z slot, w the number
 * of keys (cache entries 0..w-1 in block-table order). Pure: no WebGPU.
 */
import { findSharedPrefixes } from './sharedPrefix.ts';

export interface AttentionPlanOptions {
  blockSize: number;
  /** Keys per item at most (flash-decoding's partition). */
  splitKeys: number;
  /** Query rows per item at most (the kernel's workgroup memory is sized for it). */
  maxQueries: number;
  /** Read blocks that several decoding rows share once for all of them. */
  sharedPrefix: boolean;
}

/** Marks a query whose row has a single item: the item writes the output itself. */
export const DIRECT = 0xffffffff;
export const HEADER_WORDS = 4;
export const ITEM_WORDS = 8;
export const QUERY_WORDS = 2;
export const REDUCE_WORDS = 4;

export interface AttentionItem {
  /** Offset of a block table (in the step's tables) that holds these keys. */
  table: number;
  k0: number;
  k1: number;
  rows: number[];
}

export interface AttentionPlan {
  items: AttentionItem[];
  /** Per row, its partial indices in item order (one entry: DIRECT). */
  partialsOf: number[][];
  /** Partials in all (rows with more than one item). */
  partials: number;
  /** Rows the reduce pass merges, in row order. */
  reduceRows: number[];
  /** Keys loaded per kv head and layer: the sum of the items' key counts. */
  keysRead: number;
  /** Keys a per-row kernel loads (the sum of the rows' key counts): keysRead without any sharing. */
  keysAttended: number;
}

/** Plans one step's attention; `chunkRows[i]` is the number of rows of chunk i (rows are chunk after chunk). */
export function planAttention(rowMeta: Uint32Array, tables: Uint32Array, chunkRows: readonly number[], o: AttentionPlanOptions): AttentionPlan {
  if (o.splitKeys < 1 || o.maxQueries < 1) throw new RangeError(`bad attention plan options ${JSON.stringify(o)}`);
  const rows = rowMeta.length / 4;
  const keys = (r: number) => rowMeta[r * 4 + 3];
  const items: AttentionItem[] = [];
  const tailStart = new Array<number>(rows).fill(0);
  const chunkOf: number[] = [];
  chunkRows.forEach((n, c) => {
    for (let i = 0; i < n; i++) chunkOf.push(c);
  });
  if (chunkOf.length !== rows) throw new RangeError(`chunks hold ${chunkOf.length} rows, the step ${rows}`);

  if (o.sharedPrefix) {
    const decoding = chunkOf.flatMap((c, r) => (chunkRows[c] === 1 ? [r] : []));
    const full = decoding.map((r) => tables.subarray(rowMeta[r * 4 + 1], rowMeta[r * 4 + 1] + Math.floor(keys(r) / o.blockSize)));
    const { segments, tailStart: tails } = findSharedPrefixes(full);
    for (const seg of segments) {
      const members = seg.rows.map((i) => decoding[i]);
      const end = seg.end * o.blockSize;
      for (let k = seg.start * o.blockSize; k < end; k += o.splitKeys) {
        for (let q = 0; q < members.length; q += o.maxQueries) {
          const group = members.slice(q, q + o.maxQueries);
          items.push({ table: rowMeta[group[0] * 4 + 1], k0: k, k1: Math.min(k + o.splitKeys, end), rows: group });
        }
      }
    }
    decoding.forEach((r, i) => (tailStart[r] = tails[i] * o.blockSize));
  }

  for (let r0 = 0; r0 < rows; ) {
    const n = chunkRows[chunkOf[r0]];
    for (let g0 = r0; g0 < r0 + n; g0 += o.maxQueries) {
      const group = Array.from({ length: Math.min(o.maxQueries, r0 + n - g0) }, (_, i) => g0 + i);
      const start = Math.min(...group.map((r) => tailStart[r]));
      const end = Math.max(...group.map(keys));
      for (let k = start; k < end; k += o.splitKeys) {
        const members = group.filter((r) => keys(r) > k && tailStart[r] <= k);
        if (members.length > 0) items.push({ table: rowMeta[group[0] * 4 + 1], k0: k, k1: Math.min(k + o.splitKeys, end), rows: members });
      }
    }
    r0 += n;
  }

  const itemsOf: number[][] = Array.from({ length: rows }, () => []);
  items.forEach((it, i) => it.rows.forEach((r) => itemsOf[r].push(i)));
  const partialsOf: number[][] = [];
  const reduceRows: number[] = [];
  let partials = 0;
  itemsOf.forEach((list, r) => {
    if (list.length === 0) throw new RangeError(`row ${r} attends to no keys`);
    if (list.length === 1) {
      partialsOf.push([DIRECT]);
      return;
    }
    partialsOf.push(list.map((_, j) => partials + j));
    partials += list.length;
    reduceRows.push(r);
  });
  let keysRead = 0;
  for (const it of items) keysRead += it.k1 - it.k0;
  let keysAttended = 0;
  for (let r = 0; r < rows; r++) keysAttended += keys(r);
  return { items, partialsOf, partials, reduceRows, keysRead, keysAttended };
}

/**
 * The plan as the kernels read it (u32 words): header [partial-stats base in vec4s, reduce list
 * offset, reduce rows, items], then per item [table, k0, k1, query list offset, query count, 0,
 * 0, 0], the query lists ([row, partial or DIRECT] each), the reduce list ([row, first partial,
 * partials, 0] each). `statsBase` is where the (max, sum) vec4s start in the partials buffer.
 */
export function encodePlan(p: AttentionPlan, numHeads: number, headDim: number): { words: Uint32Array<ArrayBuffer>; partialVec4s: number } {
  const queries = p.items.reduce((n, it) => n + it.rows.length, 0);
  const queryBase = HEADER_WORDS + p.items.length * ITEM_WORDS;
  const reduceBase = queryBase + queries * QUERY_WORDS;
  const words = new Uint32Array(reduceBase + p.reduceRows.length * REDUCE_WORDS);
  const accVec4s = p.partials * numHeads * (headDim / 4);
  words.set([accVec4s, reduceBase, p.reduceRows.length, p.items.length], 0);
  const next = new Array<number>(p.partialsOf.length).fill(0);
  let q = queryBase;
  p.items.forEach((it, i) => {
    words.set([it.table, it.k0, it.k1, q, it.rows.length], HEADER_WORDS + i * ITEM_WORDS);
    for (const r of it.rows) {
      words[q++] = r;
      words[q++] = p.partialsOf[r][next[r]++];
    }
  });
  p.reduceRows.forEach((r, i) => words.set([r, p.partialsOf[r][0], p.partialsOf[r].length], reduceBase + i * REDUCE_WORDS));
  return { words, partialVec4s: accVec4s + p.partials * numHeads };
}
