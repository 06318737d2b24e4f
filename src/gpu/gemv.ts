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
import type { WeightFormat } from '../quant/formats.ts';
import { packedRowBytes, unitElems, withFormat } from './formatKernels.ts';

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
  /** Weight rows per workgroup (1, 2 or 4): each x load serves this many. */
  rows: number;
  /** Slices of K (a power of two): > 1 writes partial sums that a second pass adds up. */
  split: number;
  /** Workgroups to dispatch: ceil(n / rows) * split. */
  workgroups: number;
}

/**
 * The GEMV grid for n rows of k values in `format`. Invariants (test/gpu/gemvPlan.test.ts): rows in
 * {1, 2, 4}, split a power of two up to 16 and 1 unless every slice keeps >= 64 units; rows is 4
 * whenever that alone reaches TARGET_WORKGROUPS; split only grows while below the target.
 */
export function planGemv(format: WeightFormat, k: number, n: number): GemvPlan {
  const units = k / unitElems(format);
  let rows = 4;
  while (rows > 1 && Math.ceil(n / rows) < TARGET_WORKGROUPS) rows /= 2;
  const blocks = Math.ceil(n / rows);
  let split = 1;
  while (split < MAX_SPLIT && blocks * split < TARGET_WORKGROUPS && units / (split * 2) >= MIN_UNITS_PER_SLICE) split *= 2;
  return { rows, split, workgroups: blocks * split };
}

export interface GemvSpec {
  format: WeightFormat;
  k: number;
  n: number;
  m: number;
  accumulate: boolean;
  yStride: number;
  yOffset: number;
  plan: GemvPlan;
  /** Reduce with subgroupAdd (the device has the `subgroups` feature). */
  subgroups: boolean;
}

type Layout = GPUPipelineLayout | 'auto';

function compile(device: GPUDevice, label: string, code: string, constants: Record<string, number>, layout: Layout): GPUComputePipeline {
  const module = device.createShaderModule({ label, code });
  return device.createComputePipeline({ label, layout, compute: { module, entryPoint: 'main', constants } });
}

/** The GEMV; bindings (weights, x, out): out is y when plan.split == 1, else the partial sums [split, m, n]. */
export function gemvPipeline(device: GPUDevice, s: GemvSpec, layout: Layout = 'auto'): GPUComputePipeline {
  packedRowBytes(s.format, s.k);
  if (!Number.isInteger(s.m) || s.m < 1 || s.m > 8) throw new RangeError(`the GEMV takes 1..8 rows of x, got ${s.m}`);
  // `enable` must open the module, so the subgroup variant starts with it; the rest is the files in order.
  const code = s.subgroups ? `enable subgroups;\n${withFormat(s.format, `${gemvSrc}\n${gemvSgSrc}`)}` : withFormat(s.format, `${gemvSrc}\n${gemvWgSrc}`);
  const label = `matmul_gemv${s.subgroups ? ' (subgroups)' : ''} ${s.format} ${s.k}->${s.n} m=${s.m} rows=${s.plan.rows} split=${s.plan.split}`;
  const constants = { K: s.k, N: s.n, M: s.m, ROWS: s.plan.rows, SPLIT: s.plan.split, ACCUMULATE: s.accumulate ? 1 : 0, Y_STRIDE: s.yStride, Y_OFFSET: s.yOffset };
  return compile(device, label, code, constants, layout);
}

/** The split-K second pass; bindings (partial sums, y); one invocation per (m, n). */
export function splitReducePipeline(device: GPUDevice, s: Omit<GemvSpec, 'format' | 'k' | 'subgroups'>, layout: Layout = 'auto'): GPUComputePipeline {
  const constants = { N: s.n, M: s.m, SPLIT: s.plan.split, ACCUMULATE: s.accumulate ? 1 : 0, Y_STRIDE: s.yStride, Y_OFFSET: s.yOffset };
  return compile(device, `matmul_splitk_reduce ${s.n} m=${s.m} split=${s.plan.split}`, reduceSrc, constants, layout);
}

/** The tiled prefill GEMM; bindings (dims, weights, x, y); dispatch tiledGrid. */
export function tiledPipeline(device: GPUDevice, s: Omit<GemvSpec, 'm' | 'plan' | 'subgroups'>, layout: Layout = 'auto'): GPUComputePipeline {
  packedRowBytes(s.format, s.k);
  const constants = { K: s.k, N: s.n, ACCUMULATE: s.accumulate ? 1 : 0, Y_STRIDE: s.yStride, Y_OFFSET: s.yOffset };
  return compile(device, `matmul_tiled ${s.format} ${s.k}->${s.n}`, withFormat(s.format, tiledSrc), constants, layout);
}

/** matmul_tiled's grid: one workgroup per 32 x 32 tile of y. */
export function tiledGrid(rows: number, n: number, maxPerDim: number): [number, number] {
  const y = Math.ceil(rows / 32);
  const x = Math.ceil(n / 32);
  if (x > maxPerDim || y > maxPerDim) throw new RangeError(`a ${rows} x ${n} product is more than this GPU dispatches at once`);
  return [x, y];
}
