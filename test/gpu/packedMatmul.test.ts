// wgsl/matmul_packed.wgsl on Dawn (SwiftShader), for every weight format: y = x · W^T with W packed
// (random weights quantized by src/quant) equals the TypeScript oracle, src/quant's dequantize followed
// by an f64 matmul, within TOL relative to sum_k |x[m,k] * W[n,k]| (the scale of the rounding error of
// an f32 dot product). Shapes cover K = 256, 576 (not a multiple of 256: 32-element and plain formats
// only) and 768; M = 1, 3, 8; N not a multiple of the rows a workgroup owns (clamped tail rows);
// 1, 2 and 4 rows per lane group; lane counts 8, 16, 32 and 64; and the accumulating variant.
// (K-quants take K = 512 where the others take 576.) The same oracle checks the 'gpu' kernel set's
// products (src/gpu/gemv.ts): the GEMV with workgroup-memory and subgroup reductions, several rows
// per workgroup and K split in slices (then the reduce pass), and the tiled GEMM at M = 13 and 40
// with K tails (K % 32 != 0 for f32 and f16), for four formats (TILED_FORMATS).
import { beforeAll, describe, expect, it } from 'vitest';
import { dawnDevice, dawnGpu } from '../../src/gpu/dawn.ts';
import { packedWords } from '../../src/gpu/formatKernels.ts';
import { type GemvPlan, gemvGrid, gemvParamsBuffer, gemvPipeline, splitReducePipeline, tiledGrid, tiledPipeline } from '../../src/gpu/gemv.ts';
import { foldedGrid, grid64 } from '../../src/gpu/grid.ts';
import { packedMatmul, type PackedMatmulSpec } from '../../src/gpu/packedMatmul.ts';
import { dequantize, FORMATS, quantize, type WeightFormat } from '../../src/quant/index.ts';
import { dispatch, readF32, rowsUniform, upload } from './harness.ts';
import { prng, randomArray } from './randomModel.ts';

/**
 * Measured worst case over the cases below: 6.3e-8 (F32, K=576); the packed formats 1.2e-8..2.4e-8.
 * (FOLIO_REPORT_TOL=1 prints each case's figure.) 1e-6 leaves a margin of about 16x.
 */
const TOL = 1e-6;

const ALL: WeightFormat[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

let device: GPUDevice;
/** A device with the `subgroups` feature, for the GEMV's subgroup reduction (SwiftShader has it). */
let sgDevice: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
  const adapter = await dawnGpu().requestAdapter();
  sgDevice = await adapter!.requestDevice({ requiredFeatures: ['subgroups' as GPUFeatureName] });
});

interface Product {
  format: WeightFormat;
  k: number;
  n: number;
  m: number;
  accumulate?: boolean;
  /** x is uploaded as gate|up rows [m, 2k] and the product reads silu(gate) * up (the 'gpu' set's fused SwiGLU). */
  xSilu?: boolean;
  /** The product normalizes x itself: rmsnorm(x) * gamma (the 'gpu' set's fused RMSNorm, eps NORM_EPS). */
  xNorm?: boolean;
}

const NORM_EPS = 1e-5;

/**
 * With a fused input the GPU's exp (SwiftShader's, a few ulp) or its sum of squares enters x
 * itself, not only the sum: 1e-5 bounds that loosely while still catching a wrong gate/up pairing
 * or a missing or misplaced scale (O(1) errors).
 */
const FUSED_TOL = 1e-5;

/** y0 + x · W^T from random weights quantized in `format`, checked against dequantize + an f64 sum; `run` computes it on the GPU. */
async function checkProduct(spec: Product, run: (w: GPUBuffer, x: GPUBuffer, y: GPUBuffer, normW: GPUBuffer) => Promise<void>): Promise<number> {
  const { format, k, n, m } = spec;
  const rand = prng(k * 31 + n * 7 + m + format.length);
  const packed = quantize(format, randomArray(rand, n * k));
  const w = dequantize(format, packed, n * k);
  const gateUp = spec.xSilu ? randomArray(rand, m * 2 * k, 2) : null;
  const raw = gateUp ? null : randomArray(rand, m * k, 2);
  const gamma = randomArray(rand, k, 2);
  const x = gateUp ? siluOf(gateUp, m, k) : spec.xNorm ? normOf(raw!, gamma, m, k) : raw!;
  const y0 = spec.accumulate ? randomArray(rand, m * n) : new Float32Array(m * n);
  const wBuf = upload(device, packedWords(packed));
  const xBuf = upload(device, gateUp ?? raw!);
  const gBuf = upload(device, gamma);
  const yBuf = upload(device, y0);
  await run(wBuf, xBuf, yBuf, gBuf);
  const got = await readF32(device, yBuf, m * n);
  for (const b of [wBuf, xBuf, yBuf, gBuf]) b.destroy();
  let maxRel = 0;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let sum = 0;
      let scale = 0;
      for (let i = 0; i < k; i++) {
        const t = x[r * k + i] * w[c * k + i];
        sum += t;
        scale += Math.abs(t);
      }
      const want = y0[r * n + c] + sum;
      const rel = Math.abs(got[r * n + c] - want) / (scale + Math.abs(y0[r * n + c]));
      expect(rel, `y[${r}, ${c}]: got ${got[r * n + c]}, want ${want}`).toBeLessThanOrEqual(spec.xSilu || spec.xNorm ? FUSED_TOL : TOL);
      maxRel = Math.max(maxRel, rel);
    }
  }
  return maxRel;
}

/** silu(gate) * up per row of gate|up rows [m, 2k], in f64 (the oracle's x). */
function siluOf(gateUp: Float32Array, m: number, k: number): Float32Array<ArrayBuffer> {
  const x = new Float32Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < k; i++) {
      const g = gateUp[r * 2 * k + i];
      x[r * k + i] = (g / (1 + Math.exp(-g))) * gateUp[r * 2 * k + k + i];
    }
  }
  return x;
}

/** gamma * x / sqrt(mean(x^2) + eps) per row, in f64 (the oracle's x). */
function normOf(x: Float32Array, gamma: Float32Array, m: number, k: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(m * k);
  for (let r = 0; r < m; r++) {
    let ss = 0;
    for (let i = 0; i < k; i++) ss += x[r * k + i] ** 2;
    const inv = 1 / Math.sqrt(ss / k + NORM_EPS);
    for (let i = 0; i < k; i++) out[r * k + i] = gamma[i] * x[r * k + i] * inv;
  }
  return out;
}

function cases(format: WeightFormat): PackedMatmulSpec[] {
  // K = 576 is not a whole number of K-quant super-blocks: those formats take 512 instead.
  const k2 = FORMATS[format].blockElems <= 32 ? 576 : 512;
  return [
    { format, k: 256, n: 37, m: 1, rows: 1 },
    { format, k: k2, n: 19, m: 3, rows: 4 },
    { format, k: 768, n: 22, m: 8, rows: 2, accumulate: true },
  ];
}

describe('matmul_packed equals dequantize + f32 matmul', () => {
  for (const format of ALL) {
    it.each(cases(format))(`${format}: K=$k N=$n M=$m rows=$rows accumulate=$accumulate`, async (spec) => {
      const p = packedMatmul(device, spec);
      const maxRel = await checkProduct(spec, (w, x, y) => dispatch(device, p.pipeline, [w, x, y], p.grid));
      if (process.env.FOLIO_REPORT_TOL) console.log(`${format} K=${spec.k} N=${spec.n} M=${spec.m}: lanes ${p.lanes}, max rel err ${maxRel.toExponential(2)}`);
    });
  }
});

const TILED_FORMATS: WeightFormat[] = ['F32', 'F16', 'Q4_0', 'Q6_K'];

/**
 * The 'gpu' set's cases per format: one GEMV (reduction, rows, lanes and split varied across formats;
 * a third of the cases with the fused SwiGLU input, a third with the fused RMSNorm), one tiled GEMM
 * (with SwiGLU, RMSNorm or neither).
 */
function gpuCases(format: WeightFormat, i: number): { gemv: Product & { plan: GemvPlan; subgroups: boolean }; tiled: Product } {
  const plain = FORMATS[format].blockElems === 1;
  const k = plain ? (format === 'F32' ? 100 : 104) * 8 : FORMATS[format].blockElems <= 32 ? 576 : 512;
  const rows = [1, 2, 4][i % 3];
  const split = [1, 2, 4, 3][i % 4];
  // The CPU adapters' shape (one lane per row group, no split) and a lane count between.
  const lanes = i % 5 === 1 ? 1 : i % 5 === 4 ? 16 : 64;
  const n = 23;
  const groups = 64 / lanes;
  const plan = { rows, lanes, split: lanes === 64 ? split : 1, workgroups: Math.ceil(n / (rows * groups)) * (lanes === 64 ? split : 1) };
  return {
    gemv: { format, k, n, m: 1 + (i % 8), accumulate: i % 2 === 1, plan, subgroups: i % 2 === 0, xSilu: i % 3 === 2, xNorm: i % 3 === 1 },
    tiled: { format, k: plain ? k / 8 : k, n: 37, m: i % 2 === 0 ? 13 : 40, accumulate: i % 2 === 0, xSilu: i % 4 !== 0, xNorm: i % 4 === 0 },
  };
}

describe("the 'gpu' kernel set's GEMV and tiled GEMM equal dequantize + f32 matmul", () => {
  ALL.forEach((format, i) => {
    const { gemv, tiled } = gpuCases(format, i);
    const { rows, lanes, split } = gemv.plan;
    const fused = gemv.xSilu ? ' silu' : gemv.xNorm ? ' norm' : '';
    it(`${format} GEMV: K=${gemv.k} N=${gemv.n} M=${gemv.m} rows=${rows} lanes=${lanes} split=${split}${fused} ${gemv.subgroups && lanes === 64 ? 'subgroups' : 'workgroup memory'}`, async () => {
      const dev = gemv.subgroups ? sgDevice : device;
      const p = gemvPipeline(dev, { format, rows, lanes, subgroups: gemv.subgroups, xSilu: gemv.xSilu ?? false, xNorm: gemv.xNorm ?? false });
      const params = gemvParamsBuffer(dev, { k: gemv.k, n: gemv.n, yStride: gemv.n, yOffset: 0, split, accumulate: gemv.accumulate ?? false, eps: NORM_EPS });
      await checkProduct(gemv, async (w, x, y, g) => {
        // The product's buffers live on `device`; the subgroup device gets its own copies.
        const [dw, dx, dy, dg] = dev === device ? [w, x, y, g] : await Promise.all([w, x, y, g].map((b) => copyTo(b, dev)));
        const partial = split > 1 ? upload(dev, new Float32Array(split * gemv.m * gemv.n)) : dy;
        const dims = rowsUniform(dev, gemv.m);
        await dispatch(dev, p, [dims, params, dw, dx, partial, dg], gemvGrid(gemv.plan, gemv.m, 65535));
        if (split > 1) await dispatch(dev, splitReducePipeline(dev), [dims, params, partial, dy], grid64(gemv.m * gemv.n, 65535));
        if (dev !== device) device.queue.writeBuffer(y, 0, (await readF32(dev, dy, gemv.m * gemv.n)) as Float32Array<ArrayBuffer>);
      });
    });
    // The tiled GEMM's format-specific part is dequant_unit (checked above for every format): it takes
    // one format per unit size and layout (4, 8, 32-element units; 18-byte blocks; a K-quant).
    if (!TILED_FORMATS.includes(format)) return;
    it(`${format} tiled GEMM: K=${tiled.k} N=${tiled.n} M=${tiled.m} accumulate=${tiled.accumulate}${tiled.xSilu ? ' silu' : tiled.xNorm ? ' norm' : ''}`, async () => {
      const p = tiledPipeline(device, { format, xSilu: tiled.xSilu ?? false, xNorm: tiled.xNorm ?? false });
      const params = gemvParamsBuffer(device, { k: tiled.k, n: tiled.n, yStride: tiled.n, yOffset: 0, split: 1, accumulate: tiled.accumulate ?? false, eps: NORM_EPS });
      await checkProduct(tiled, (w, x, y, g) => dispatch(device, p, [rowsUniform(device, tiled.m), params, w, x, y, g], tiledGrid(tiled.m, tiled.n, 65535)));
    });
  });

  it('one GEMV pipeline serves parts of another shape and a stacked output (y_stride, y_offset) at every M, past 8 rows in passes', async () => {
    // Two parts of one output, [m, 40]: columns 0..22 and 23..39, both F16 (K = 64), through one
    // pipeline; each writes its columns only. M = 13 takes two passes of the accumulators.
    const p = gemvPipeline(device, { format: 'F16', rows: 2, lanes: 64, subgroups: false, xSilu: false, xNorm: false });
    for (const m of [1, 5, 13]) {
      const rand = prng(m);
      const k = 64;
      const [w0, w1] = [23, 17].map((n) => randomArray(rand, n * k));
      const x = randomArray(rand, m * k, 2);
      const y = upload(device, new Float32Array(m * 40));
      const xb = upload(device, x);
      const dims = rowsUniform(device, m);
      for (const [w, n, off] of [[w0, 23, 0], [w1, 17, 23]] as const) {
        const params = gemvParamsBuffer(device, { k, n, yStride: 40, yOffset: off, split: 1, accumulate: false });
        const plan = { rows: 2, lanes: 64, split: 1, workgroups: Math.ceil(n / 2) };
        await dispatch(device, p, [dims, params, upload(device, packedWords(quantize('F16', w))), xb, y, xb], gemvGrid(plan, m, 65535));
      }
      const got = await readF32(device, y, m * 40);
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < 40; c++) {
          const [w, row] = c < 23 ? [w0, c] : [w1, c - 23];
          const wq = dequantize('F16', quantize('F16', w), w.length);
          let want = 0;
          for (let i = 0; i < k; i++) want += x[r * k + i] * wq[row * k + i];
          expect(got[r * 40 + c]).toBeCloseTo(want, 4);
        }
      }
    }
  });
});

/** A copy of a storage buffer's words on another device. */
async function copyTo(b: GPUBuffer, dev: GPUDevice): Promise<GPUBuffer> {
  return upload(dev, (await readF32(device, b, b.size / 4)) as Float32Array<ArrayBuffer>);
}

describe('packedMatmul refuses shapes the kernel does not handle', () => {
  it('K not a whole number of blocks, M out of range', () => {
    expect(() => packedMatmul(device, { format: 'Q4_K', k: 576, n: 4, m: 1 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'Q4_0', k: 48, n: 4, m: 1 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'Q8_0', k: 64, n: 4, m: 9 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'F16', k: 12, n: 4, m: 1 })).toThrow(RangeError);
  });
});
