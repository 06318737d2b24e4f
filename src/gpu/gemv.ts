/**
 * The 'gpu' kernel set's linear products: the decode GEMV (wgsl/matmul_gemv.wgsl with its
 * workgroup-memory or subgroup entry point, and wgsl/matmul_splitk_reduce.wgsl where K is split)
 * and the prefill GEMM tiled through workgroup memory (wgsl/matmul_tiled.wgsl), for every weight
 * format. This file plans the GEMV's grid (pure, tested in Node) and compiles the pipelines.
 */
import gemvSrc from '../../wgsl/matmul_gemv.wgsl?raw';
import gemvSgSrc from '../../wgsl/matmul_gemv_sg.wgsl?raw';
import gemvWgSrc from '../../wgsl/matmul_gemv_wg.wgsl?raw';
import reduceSrc from '../../wgsl/matmul_splitk_reduce.wgsl?raw';
import tiledSrc from '../../wgsl/matmul_tiled.wgsl?raw';
import paramsSrc from '../../wgsl/product_params.wgsl?raw';
import type { WeightFormat } from '../quant/formats.ts';
import { packedRowBytes, unitElems, withFormat } from './formatKernels.ts';
import { foldedGrid } from './grid.ts';

/** Invocations per GEMV workgroup (the kernel's WG). */
export const GEMV_WG = 64;

/**
 * Workgroups that keep a large GPU busy: 4 per SM of a 132-SM part, several per compute unit of
 * smaller ones. Below this the plan trades rows per workgroup, then K slices, for workgroups.
 */
export const TARGET_WORKGROUPS = 512;

/** A K slice keeps at least this many units, so each of the 64 invocations has one to decode. */
const MIN_UNITS_PER_SLICE = GEMV_WG;
const MAX_SPLIT = 16;

export interface GemvPlan {
  /** Weight rows per row group (1, 2 or 4): each x load serves this many. */
  rows: number;
  /** Invocations per row group, striding along K: 64 (a whole workgroup) on GPUs, 1 on CPU adapters. */
  lanes: number;
  /** Slices of K (a power of two): > 1 writes partial sums that a second pass adds up. */
  split: number;
  /** Workgroups to dispatch: ceil(n / (rows * 64 / lanes)) * split. */
  workgroups: number;
}

/**
 * The GEMV grid for n rows of k values in `format`. Invariants (test/gpu/gemvPlan.test.ts): rows in
 * {1, 2, 4}, split a power of two up to 16 and 1 unless every slice keeps >= 64 units; rows is 4
 * whenever that alone reaches TARGET_WORKGROUPS; split only grows while below the target.
 * On a CPU adapter (`cpuAdapter`: SwiftShader, with the 'gpu' set asked for) the shape is the one
 * that suits a CPU: 64 row groups of one invocation each, 4 rows apiece, no split and no
 * reduction; real GPUs never get it (occupancy and coalescing need lanes = 64 there).
 */
export function planGemv(format: WeightFormat, k: number, n: number, cpuAdapter = false): GemvPlan {
  if (cpuAdapter) return { rows: CPU_ROWS, lanes: 1, split: 1, workgroups: Math.ceil(n / (CPU_ROWS * GEMV_WG)) };
  const units = k / unitElems(format);
  let rows = 4;
  while (rows > 1 && Math.ceil(n / rows) < TARGET_WORKGROUPS) rows /= 2;
  const blocks = Math.ceil(n / rows);
  let split = 1;
  while (split < MAX_SPLIT && blocks * split < TARGET_WORKGROUPS && units / (split * 2) >= MIN_UNITS_PER_SLICE) split *= 2;
  return { rows, lanes: GEMV_WG, split, workgroups: blocks * split };
}

const CPU_ROWS = 4;

/** One pipeline of the GEMV: everything that is not in the params uniform. */
export interface GemvKernel {
  format: WeightFormat;
  rows: number;
  lanes: number;
  /** Reduce with subgroupAdd (the device has the `subgroups` feature; only with lanes == 64). */
  subgroups: boolean;
  /** x is a gate|up product: the kernel reads silu(gate) * up (SwiGLU fused into the down projection). */
  xSilu: boolean;
  /** The product applies RMSNorm to x itself (weight bound at 5, eps in the params). */
  xNorm: boolean;
}

/** One product's shape, as the params uniform holds it (Params in wgsl/product_params.wgsl). */
export interface ProductShape {
  k: number;
  n: number;
  yStride: number;
  yOffset: number;
  split: number;
  accumulate: boolean;
  /** RMSNorm's epsilon, for a product with the norm fused in (ignored otherwise). */
  eps?: number;
}

/** The params uniform's words (32 bytes: seven used, padded to a 16-byte multiple). */
export function gemvParams(s: ProductShape): Uint32Array<ArrayBuffer> {
  if (s.yOffset < 0 || s.yOffset + s.n > s.yStride) throw new RangeError(`columns ${s.yOffset}..${s.yOffset + s.n} do not fit rows of ${s.yStride}`);
  const words = Uint32Array.of(s.k, s.n, s.yStride, s.yOffset, s.split, s.accumulate ? 1 : 0, 0, 0);
  new Float32Array(words.buffer, 24, 1)[0] = s.eps ?? 0;
  return words;
}

/** A uniform buffer holding `s`, written once (one per weight part and product). */
export function gemvParamsBuffer(device: GPUDevice, s: ProductShape, label = 'gemv params'): GPUBuffer {
  const words = gemvParams(s);
  const buf = device.createBuffer({ label, size: words.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, words);
  return buf;
}

type Layout = GPUPipelineLayout | 'auto';

function compile(device: GPUDevice, label: string, code: string, constants: Record<string, number>, layout: Layout): GPUComputePipeline {
  const module = device.createShaderModule({ label, code });
  return device.createComputePipeline({ label, layout, compute: { module, entryPoint: 'main', constants } });
}

/**
 * The GEMV; bindings (dims, params, weights, x, out, norm weight): out is y when split == 1, else
 * the partial sums [split, m, n]. One pipeline per GemvKernel serves every part, shape and row
 * count (1..8).
 */
export function gemvPipeline(device: GPUDevice, s: GemvKernel, layout: Layout = 'auto'): GPUComputePipeline {
  if (![1, 2, 4].includes(s.rows)) throw new RangeError(`the GEMV takes 1, 2 or 4 rows per group, got ${s.rows}`);
  if (![1, 2, 4, 8, 16, 32, 64].includes(s.lanes)) throw new RangeError(`the GEMV's lanes per row group must be a power of two up to 64, got ${s.lanes}`);
  const subgroups = s.subgroups && s.lanes === GEMV_WG;
  // `enable` must open the module, so the subgroup variant starts with it; the rest is the files in order.
  const code = subgroups ? `enable subgroups;\n${withFormat(s.format, `${paramsSrc}\n${gemvSrc}\n${gemvSgSrc}`)}` : withFormat(s.format, `${paramsSrc}\n${gemvSrc}\n${gemvWgSrc}`);
  if (s.xSilu && s.xNorm) throw new RangeError('the GEMV fuses SwiGLU or RMSNorm into its input, not both');
  const label = `matmul_gemv${subgroups ? ' (subgroups)' : ''} ${s.format} rows=${s.rows} lanes=${s.lanes}${s.xSilu ? ' silu' : ''}${s.xNorm ? ' norm' : ''}`;
  const slots = (s.rows + (s.xNorm ? 1 : 0)) * 8 * GEMV_WG;
  const constants = { ROWS: s.rows, LANES: s.lanes, X_SILU: s.xSilu ? 1 : 0, X_NORM: s.xNorm ? 1 : 0, PARTIAL_SLOTS: s.lanes === 1 ? 1 : slots };
  return compile(device, label, code, constants, layout);
}

/** Rows of x the GEMV takes per pass (its accumulators); more rows take more passes over the weights. */
export const GEMV_PASS_ROWS = 8;

/**
 * Up to how many rows a step's products take the GEMV rather than the tiled GEMM: 8 on GPUs (one
 * pass; the tiled GEMM reads each weight once per 32 rows), every row count on CPU adapters, where
 * the GEMV's CPU shape has no barrier and the tiled GEMM two per 32 values of K (SwiftShader
 * switches all 64 invocations at each; it also takes SwiftShader ~7-10 s to compile, per device);
 * a CPU is bound by arithmetic there, not by re-reading weights once per 8 rows.
 */
export function gemvMaxRows(cpuAdapter: boolean): number {
  return cpuAdapter ? Infinity : GEMV_PASS_ROWS;
}

/** Rows of x per pass of the CPU shape (lanes 1: one 4 x 4 register tile, wgsl/matmul_gemv_wg.wgsl gemv_cpu). */
export const CPU_PASS_ROWS = 4;

/** The GEMV's grid: the plan's workgroups folded into (x, y), one layer z per pass of 8 rows (4 in the CPU shape). */
export function gemvGrid(plan: GemvPlan, rows: number, maxPerDim: number): [number, number, number] {
  const passes = Math.ceil(rows / (plan.lanes === 1 ? CPU_PASS_ROWS : GEMV_PASS_ROWS));
  if (passes > maxPerDim) throw new RangeError(`a step of ${rows} rows is more than this GPU dispatches at once`);
  const [x, y] = foldedGrid(plan.workgroups, maxPerDim);
  return [x, y, passes];
}

/** Checks a product's shape against the GEMV's limits: K whole blocks and units, rows of x 1..maxRows. */
export function checkGemvShape(format: WeightFormat, k: number, m: number, maxRows = GEMV_PASS_ROWS): void {
  packedRowBytes(format, k);
  if (!Number.isInteger(m) || m < 1 || m > maxRows) throw new RangeError(`the GEMV takes 1..${maxRows} rows of x, got ${m}`);
}

/** The split-K second pass; bindings (dims, params, partial sums, y); one invocation per (m, n). One pipeline for every product. */
export function splitReducePipeline(device: GPUDevice, layout: Layout = 'auto'): GPUComputePipeline {
  return compile(device, 'matmul_splitk_reduce', `${paramsSrc}\n${reduceSrc}`, {}, layout);
}

/** The tiled prefill GEMM; bindings (dims, params, weights, x, y, norm weight); dispatch tiledGrid. One pipeline per format (and fusion). */
export function tiledPipeline(device: GPUDevice, s: { format: WeightFormat; xSilu: boolean; xNorm: boolean }, layout: Layout = 'auto'): GPUComputePipeline {
  if (s.xSilu && s.xNorm) throw new RangeError('the tiled GEMM fuses SwiGLU or RMSNorm into its input, not both');
  const label = `matmul_tiled ${s.format}${s.xSilu ? ' silu' : ''}${s.xNorm ? ' norm' : ''}`;
  return compile(device, label, withFormat(s.format, `${paramsSrc}\n${tiledSrc}`), { X_SILU: s.xSilu ? 1 : 0, X_NORM: s.xNorm ? 1 : 0 }, layout);
}

/** matmul_tiled's grid: one workgroup per 32 x 32 tile of y. */
export function tiledGrid(rows: number, n: number, maxPerDim: number): [number, number] {
  const y = Math.ceil(rows / 32);
  const x = Math.ceil(n / 32);
  if (x > maxPerDim || y > maxPerDim) throw new RangeError(`a ${rows} x ${n} product is more than this GPU dispatches at once`);
  return [x, y];
}
