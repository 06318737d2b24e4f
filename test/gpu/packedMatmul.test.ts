// wgsl/matmul_packed.wgsl on Dawn (SwiftShader), for every weight format: y = x · W^T with W packed
// (random weights quantized by src/quant) equals the TypeScript oracle, src/quant's dequantize followed
// by an f64 matmul, within TOL relative to sum_k |x[m,k] * W[n,k]| (the scale of the rounding error of
// an f32 dot product). Shapes cover K = 256, 576 (not a multiple of 256: 32-element and plain formats
// only) and 768; M = 1, 3, 8; N not a multiple of the rows a workgroup owns (clamped tail rows);
// 1, 2 and 4 rows per lane group; lane counts 8, 16, 32 and 64; and the accumulating variant.
// (K-quants take K = 512 where the others take 576.)
import { beforeAll, describe, expect, it } from 'vitest';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { packedWords } from '../../src/gpu/formatKernels.ts';
import { packedMatmul, type PackedMatmulSpec } from '../../src/gpu/packedMatmul.ts';
import { dequantize, FORMATS, quantize, type WeightFormat } from '../../src/quant/index.ts';
import { dispatch, readF32, upload } from './harness.ts';
import { prng, randomArray } from './randomModel.ts';

/**
 * Measured worst case over the cases below: 6.3e-8 (F32, K=576); the packed formats 1.2e-8..2.4e-8.
 * (FOLIO_REPORT_TOL=1 prints each case's figure.) 1e-6 leaves a margin of about 16x.
 */
const TOL = 1e-6;

const ALL: WeightFormat[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

let device: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
});

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
      const { k, n, m } = spec;
      const rand = prng(k * 31 + n * 7 + m + format.length);
      const packed = quantize(format, randomArray(rand, n * k));
      const w = dequantize(format, packed, n * k);
      const x = randomArray(rand, m * k, 2);
      const y0 = spec.accumulate ? randomArray(rand, m * n) : new Float32Array(m * n);

      const p = packedMatmul(device, spec);
      const wBuf = upload(device, packedWords(packed));
      const xBuf = upload(device, x);
      const yBuf = upload(device, y0);
      await dispatch(device, p.pipeline, [wBuf, xBuf, yBuf], p.grid);
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
      if (process.env.FOLIO_REPORT_TOL) console.log(`${format} K=${k} N=${n} M=${m}: lanes ${p.lanes}, max rel err ${maxRel.toExponential(2)}`);
    });
  }
});

describe('packedMatmul refuses shapes the kernel does not handle', () => {
  it('K not a whole number of blocks, M out of range', () => {
    expect(() => packedMatmul(device, { format: 'Q4_K', k: 576, n: 4, m: 1 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'Q4_0', k: 48, n: 4, m: 1 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'Q8_0', k: 64, n: 4, m: 9 })).toThrow(RangeError);
    expect(() => packedMatmul(device, { format: 'F16', k: 12, n: 4, m: 1 })).toThrow(RangeError);
  });
});
