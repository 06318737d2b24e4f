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
import { type GemvPlan, gemvPipeline, splitReducePipeline, tiledGrid, tiledPipeline } from '../../src/gpu/gemv.ts';
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
}

/** y0 + x · W^T from random weights quantized in `format`, checked against dequantize + an f64 sum; `run` computes it on the GPU. */
async function checkProduct(spec: Product, run: (w: GPUBuffer, x: GPUBuffer, y: GPUBuffer) => Promise<void>): Promise<number> {
  const { format, k, n, m } = spec;
  const rand = prng(k * 31 + n * 7 + m + format.length);
  const packed = quantize(format, randomArray(rand, n * k));
  const w = dequantize(format, packed, n * k);
  const x = randomArray(rand, m * k, 2);
  const y0 = spec.accumulate ? randomArray(rand, m * n) : new Float32Array(m * n);
  const wBuf = upload(device, packedWords(packed));
  const xBuf = upload(device, x);
  const yBuf = upload(device, y0);
  await run(wBuf, xBuf, yBuf);
  const got = await readF32(device, yBuf, m * n);
  for (const b of [wBuf, xBuf, yBuf]) b.destroy();
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
      expect(rel, `y[${r}, ${c}]: got ${got[r * n + c]}, want ${want}`).toBeLessThanOrEqual(TOL);
      maxRel = Math.max(maxRel, rel);
    }
  }
  return maxRel;
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

/** The 'gpu' set's cases per format: one GEMV (reduction, rows and split varied across formats), one tiled GEMM. */
function gpuCases(format: WeightFormat, i: number): { gemv: Product & { plan: GemvPlan; subgroups: boolean }; tiled: Product } {
  const plain = FORMATS[format].blockElems === 1;
  const k = plain ? (format === 'F32' ? 100 : 104) * 8 : FORMATS[format].blockElems <= 32 ? 576 : 512;
  const rows = [1, 2, 4][i % 3];
  const split = [1, 2, 4, 3][i % 4];
  const n = 23;
  return {
    gemv: { format, k, n, m: 1 + (i % 8), accumulate: i % 2 === 1, plan: { rows, split, workgroups: Math.ceil(n / rows) * split }, subgroups: i % 2 === 0 },
    tiled: { format, k: plain ? k / 8 : k, n: 37, m: i % 2 === 0 ? 13 : 40, accumulate: i % 2 === 0 },
  };
}

describe("the 'gpu' kernel set's GEMV and tiled GEMM equal dequantize + f32 matmul", () => {
  ALL.forEach((format, i) => {
    const { gemv, tiled } = gpuCases(format, i);
    it(`${format} GEMV: K=${gemv.k} N=${gemv.n} M=${gemv.m} rows=${gemv.plan.rows} split=${gemv.plan.split} ${gemv.subgroups ? 'subgroups' : 'workgroup memory'}`, async () => {
      const dev = gemv.subgroups ? sgDevice : device;
      const s = { ...gemv, accumulate: gemv.accumulate ?? false, yStride: gemv.n, yOffset: 0 };
      const p = gemvPipeline(dev, s);
      await checkProduct(gemv, async (w, x, y) => {
        // The product's buffers live on `device`; the subgroup device gets its own copies.
        const [dw, dx, dy] = dev === device ? [w, x, y] : await Promise.all([w, x, y].map((b) => copyTo(b, dev)));
        const partial = s.plan.split > 1 ? upload(dev, new Float32Array(s.plan.split * s.m * s.n)) : dy;
        await dispatch(dev, p, [dw, dx, partial], foldedGrid(s.plan.workgroups, 65535));
        if (s.plan.split > 1) await dispatch(dev, splitReducePipeline(dev, s), [partial, dy], grid64(s.m * s.n, 65535));
        if (dev !== device) device.queue.writeBuffer(y, 0, (await readF32(dev, dy, s.m * s.n)) as Float32Array<ArrayBuffer>);
      });
    });
    // The tiled GEMM's format-specific part is dequant_unit (checked above for every format): it takes
    // one format per unit size and layout (4, 8, 32-element units; 18-byte blocks; a K-quant).
    if (!TILED_FORMATS.includes(format)) return;
    it(`${format} tiled GEMM: K=${tiled.k} N=${tiled.n} M=${tiled.m} accumulate=${tiled.accumulate}`, async () => {
      const s = { ...tiled, accumulate: tiled.accumulate ?? false, yStride: tiled.n, yOffset: 0 };
      const p = tiledPipeline(device, s);
      await checkProduct(tiled, (w, x, y) => dispatch(device, p, [rowsUniform(device, s.m), w, x, y], tiledGrid(s.m, s.n, 65535)));
    });
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
