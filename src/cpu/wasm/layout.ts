import type { ModelWeights } from '../../model/weights.ts';
import { Arena } from './Arena.ts';
import { F16_TABLE_BYTES } from './kernels.ts';
import { type PlacedTensor, placeWeights } from './placeWeights.ts';
import { POOL_CONTROL_BYTES } from './threads/ThreadPool.ts';
import { matmulScratchBytes } from './wat/chunked.ts';

/** One activation region: `rows` rows of `width` f32. */
const rowsOf = (arena: Arena, rows: number, width: number): number => arena.reserve(rows * width * 4);

/** Byte offsets of the scratch regions: activations of R rows, block tables, scores, RoPE tables. */
export type Regions = Record<'x' | 'xb' | 'q' | 'k' | 'v' | 'att' | 'o' | 'gate' | 'up' | 'logits' | 'tables' | 'scores' | 'ropeRows' | 'cos' | 'sin', number>;

export interface Layout {
  bytes: number;
  f16tab: number;
  tensors: Map<string, PlacedTensor>;
  formats: Set<string>;
  fill: (memory: WebAssembly.Memory) => void;
  R: number;
  a: Regions;
  kPools: number[];
  vPools: number[];
  ropePositions: number;
  tableCap: number;
  poolCtrl: number;
  /** 4 rows of the widest tensor: where placeRowQuads copies a quad while it rearranges it. */
  quadScratch: number;
  /** The matmul's scratch of each thread (wat/chunked.ts): thread t's at matmulScratch + t * matmulScratchBytes. */
  matmulScratch: number;
  matmulScratchBytes: number;
}

/** Where everything lives in the memory; sizes only, the memory is made from the total. */
export function planLayout(weights: ModelWeights, opts: { blockSize: number; numBlocks: number; rowsPerGroup?: number; threads?: number }): Layout {
  const c = weights.config;
  const arena = new Arena();
  const R = Math.min(opts.rowsPerGroup ?? 32, 256);
  const f16tab = arena.reserve(F16_TABLE_BYTES);
  const placed = placeWeights(weights, arena);
  const poolBytes = opts.numBlocks * c.numKvHeads * opts.blockSize * c.headDim * 4;
  const kPools = Array.from({ length: c.numLayers }, () => arena.reserve(poolBytes));
  const vPools = Array.from({ length: c.numLayers }, () => arena.reserve(poolBytes));
  const half = c.headDim / 2;
  const ropePositions = opts.numBlocks * opts.blockSize;
  const tableCap = Math.max(opts.numBlocks, 1);
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const a = {
    x: rowsOf(arena, R, c.hiddenSize),
    xb: rowsOf(arena, R, c.hiddenSize),
    q: rowsOf(arena, R, qDim),
    k: rowsOf(arena, R, kvDim),
    v: rowsOf(arena, R, kvDim),
    att: rowsOf(arena, R, qDim),
    o: rowsOf(arena, R, c.hiddenSize),
    gate: rowsOf(arena, R, c.intermediateSize),
    up: rowsOf(arena, R, c.intermediateSize),
    logits: rowsOf(arena, R, c.vocabSize),
    tables: rowsOf(arena, R, tableCap),
    scores: arena.reserve(tableCap * opts.blockSize * 8),
    ropeRows: arena.reserve(R * half * 16),
    cos: arena.reserve(ropePositions * half * 8),
    sin: arena.reserve(ropePositions * half * 8),
  };
  const poolCtrl = arena.reserve(POOL_CONTROL_BYTES);
  const quadScratch = arena.reserve(4 * Math.max(...[...placed.tensors.values()].map((t) => t.rowBytes)));
  const scratchBytes = matmulScratchBytes(R);
  const matmulScratch = arena.reserve((opts.threads ?? 1) * scratchBytes);
  return { bytes: arena.bytes, f16tab, tensors: placed.tensors, formats: placed.formats, fill: placed.fill, R, a, kPools, vPools, ropePositions, tableCap, poolCtrl, quadScratch, matmulScratch, matmulScratchBytes: scratchBytes };
}
