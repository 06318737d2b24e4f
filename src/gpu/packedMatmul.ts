/**
 * The packed-weight decode GEMV (wgsl/matmul_packed.wgsl): y[M, N] = x[M, K] · W[N, K]^T with W in
 * any weight format, kept packed on the device. One pipeline per (format, K, N, M); this file picks
 * the workgroup shape and binds buffers. The forward pass uses it for steps of up to MAX_M rows
 * (src/gpu/linearSteps.ts).
 */
import { FORMATS, type WeightFormat } from '../quant/formats.ts';
import { bindBuffers } from './bindGroups.ts';
import { packedRowBytes, unitElems, withFormat } from './formatKernels.ts';
import { foldedGrid } from './grid.ts';
import matmulPackedSrc from '../../wgsl/matmul_packed.wgsl?raw';

export interface PackedMatmulSpec {
  format: WeightFormat;
  /** Input width (elements per weight row): a whole number of the format's blocks. */
  k: number;
  /** Output width (weight rows). */
  n: number;
  /** Rows of x, 1..8 (decode). */
  m: number;
  /** y += x W^T instead of y = x W^T (the residual add of o_proj and down). */
  accumulate?: boolean;
  /** Weight rows per lane group, 1..4 (default 2): each x load serves this many rows. */
  rows?: number;
  /** y's row stride and the first column this product writes (default n and 0): a part of a stacked output. */
  yStride?: number;
  yOffset?: number;
  /**
   * Invocations per weight row (a power of two up to 64; default lanesFor). CPU adapters take 1:
   * there a workgroup barrier costs tens of microseconds, so fewer, wider workgroups win.
   */
  lanes?: number;
  /** An explicit pipeline layout, so that one bind group serves every M (default 'auto'). */
  layout?: GPUPipelineLayout;
}

export interface PackedMatmul {
  pipeline: GPUComputePipeline;
  /** Workgroups to dispatch, folded into (x, y). */
  grid: [number, number];
  /** Invocations per lane group, and weight rows per lane group: the workgroup's shape. */
  lanes: number;
  rows: number;
  /** Bytes the weight binding must hold: n packed rows. */
  weightBytes: number;
}

export const MAX_M = 8;

/** Lanes per weight row: the largest power of two up to 64 that the row's units keep busy. */
export function lanesFor(format: WeightFormat, k: number): number {
  const units = k / unitElems(format);
  let lanes = 1;
  while (lanes < 64 && lanes * 2 <= units) lanes *= 2;
  return lanes;
}

export function packedMatmul(device: GPUDevice, s: PackedMatmulSpec): PackedMatmul {
  const rowBytes = packedRowBytes(s.format, s.k);
  if (s.k % 4 !== 0) throw new RangeError(`packed matmul needs K % 4 == 0, got ${s.k}`);
  if (!Number.isInteger(s.m) || s.m < 1 || s.m > MAX_M) throw new RangeError(`packed matmul takes 1..${MAX_M} rows of x, got ${s.m}`);
  if (!Number.isInteger(s.n) || s.n < 1) throw new RangeError(`packed matmul needs N >= 1, got ${s.n}`);
  const rows = s.rows ?? 2;
  if (![1, 2, 3, 4].includes(rows)) throw new RangeError(`rows per lane group must be 1..4, got ${rows}`);
  const yStride = s.yStride ?? s.n;
  const yOffset = s.yOffset ?? 0;
  if (!Number.isInteger(yOffset) || yOffset < 0 || yOffset + s.n > yStride) throw new RangeError(`packed matmul: columns ${yOffset}..${yOffset + s.n} do not fit rows of ${yStride}`);
  const lanes = s.lanes ?? lanesFor(s.format, s.k);
  if (![1, 2, 4, 8, 16, 32, 64].includes(lanes)) throw new RangeError(`lanes per row must be a power of two up to 64, got ${lanes}`);
  const label = `matmul_packed ${s.format} ${s.k}->${s.n} m=${s.m}`;
  const module = device.createShaderModule({ label, code: withFormat(s.format, matmulPackedSrc) });
  const pipeline = device.createComputePipeline({
    label,
    layout: s.layout ?? 'auto',
    compute: {
      module,
      entryPoint: 'main',
      constants: { K: s.k, N: s.n, M: s.m, ROWS: rows, LANES: lanes, ACCUMULATE: s.accumulate ? 1 : 0, Y_STRIDE: yStride, Y_OFFSET: yOffset },
    },
  });
  const workgroups = Math.ceil(s.n / ((64 / lanes) * rows));
  return { pipeline, grid: foldedGrid(workgroups, device.limits.maxComputeWorkgroupsPerDimension), lanes, rows, weightBytes: s.n * rowBytes };
}

/** Bind group for (weights, x, y): weights packed [N rows], x f32 [M, K], y f32 [M, N]. */
export function bindPackedMatmul(device: GPUDevice, p: PackedMatmul, weights: GPUBuffer, x: GPUBuffer, y: GPUBuffer): GPUBindGroup {
  if (weights.size < p.weightBytes) throw new RangeError(`packed matmul: weight buffer holds ${weights.size} bytes, ${p.weightBytes} needed`);
  return bindBuffers(device, p.pipeline, [weights, x, y]);
}

/** Records the dispatch into a compute pass. */
export function encodePackedMatmul(pass: GPUComputePassEncoder, p: PackedMatmul, group: GPUBindGroup): void {
  pass.setPipeline(p.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(p.grid[0], p.grid[1]);
}

/** Bytes of weights one product reads (for bandwidth figures): n packed rows. */
export function packedMatmulBytes(format: WeightFormat, k: number, n: number): number {
  return (n * k * FORMATS[format].blockBytes) / FORMATS[format].blockElems;
}
