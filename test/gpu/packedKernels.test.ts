// The forward pass's packed kernels beyond matmul_packed, on Dawn (SwiftShader), against src/quant:
// wgsl/matmul_packed_gemm.wgsl (prefill, any M) writing a column range of a wider output, plain and
// accumulating; wgsl/matmul_packed.wgsl's Y_STRIDE/Y_OFFSET; wgsl/embed_packed.wgsl bit-exact with
// src/quant's dequantize. Weights are random rows quantized by src/quant.
import { beforeAll, describe, expect, it } from 'vitest';
import gemmSrc from '../../wgsl/matmul_packed_gemm.wgsl?raw';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { embedPackedPipeline } from '../../src/gpu/embedStep.ts';
import { packedWords, withFormat } from '../../src/gpu/formatKernels.ts';
import { packedMatmul } from '../../src/gpu/packedMatmul.ts';
import { dequantize, quantize, type WeightFormat } from '../../src/quant/index.ts';
import { dispatch, readF32, rowsUniform, upload } from './harness.ts';
import { prng, randomArray } from './randomModel.ts';

/** As test/gpu/packedMatmul.test.ts: error relative to sum |x w|, the scale of f32 rounding. */
const TOL = 1e-6;

let device: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
});

function gemmPipeline(format: WeightFormat, c: Record<string, number>): GPUComputePipeline {
  const module = device.createShaderModule({ code: withFormat(format, gemmSrc) });
  return device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: c } });
}

/** y0 with columns offset..offset+n of each row replaced (or, accumulating, incremented) by x W^T; checks got against it. */
function check(got: Float32Array, y0: Float32Array, x: Float32Array, w: Float32Array, s: { m: number; n: number; k: number; stride: number; offset: number; accumulate: boolean }): void {
  for (let r = 0; r < s.m; r++) {
    for (let c = 0; c < s.stride; c++) {
      const o = r * s.stride + c;
      if (c < s.offset || c >= s.offset + s.n) {
        expect(got[o], `y[${r}, ${c}] is outside the product's columns`).toBe(y0[o]);
        continue;
      }
      let sum = 0;
      let scale = 0;
      for (let i = 0; i < s.k; i++) {
        const t = x[r * s.k + i] * w[(c - s.offset) * s.k + i];
        sum += t;
        scale += Math.abs(t);
      }
      const want = (s.accumulate ? y0[o] : 0) + sum;
      expect(Math.abs(got[o] - want) / (scale + Math.abs(y0[o])), `y[${r}, ${c}]`).toBeLessThanOrEqual(TOL);
    }
  }
}

const FORMATS: WeightFormat[] = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q5_1', 'Q4_K', 'Q6_K'];

describe('matmul_packed_gemm and the column range of matmul_packed', () => {
  it.each(FORMATS)('%s: M = 13 (gemm) and M = 3 (GEMV) into columns 5..5+N of rows of N + 9', async (format) => {
    const k = 256;
    const n = 21;
    const rand = prng(format.length * 97 + 3);
    const packed = quantize(format, randomArray(rand, n * k));
    const w = dequantize(format, packed, n * k);
    const wBuf = upload(device, packedWords(packed));
    for (const [m, accumulate] of [[13, false], [13, true], [3, true]] as const) {
      const s = { m, n, k, stride: n + 9, offset: 5, accumulate };
      const x = randomArray(rand, m * k, 2);
      const y0 = randomArray(rand, m * s.stride);
      const xBuf = upload(device, x);
      const yBuf = upload(device, y0);
      if (m > 8) {
        const p = gemmPipeline(format, { K: k, N: n, ACCUMULATE: accumulate ? 1 : 0, Y_STRIDE: s.stride, Y_OFFSET: s.offset });
        await dispatch(device, p, [rowsUniform(device, m), wBuf, xBuf, yBuf], [Math.ceil(n / 256), Math.ceil(m / 4)]);
      } else {
        const p = packedMatmul(device, { format, k, n, m, accumulate, yStride: s.stride, yOffset: s.offset, lanes: 1, rows: 4 });
        await dispatch(device, p.pipeline, [wBuf, xBuf, yBuf], p.grid);
      }
      check(await readF32(device, yBuf, m * s.stride), y0, x, w, s);
      xBuf.destroy();
      yBuf.destroy();
    }
    wBuf.destroy();
  });
});

describe('embed_packed', () => {
  it.each(FORMATS)('%s: gathered rows equal src/quant dequantize bit for bit', async (format) => {
    const width = 256;
    const vocab = 7;
    const packed = quantize(format, randomArray(prng(format.length), vocab * width));
    const table = dequantize(format, packed, vocab * width);
    const ids = Uint32Array.of(6, 0, 3, 3, 1);
    const out = upload(device, new Float32Array(ids.length * width));
    await dispatch(device, embedPackedPipeline(device, format, width), [rowsUniform(device, ids.length), upload(device, packedWords(packed)), upload(device, ids), out], [Math.ceil((ids.length * width) / 64), 1]);
    const got = await readF32(device, out, ids.length * width);
    ids.forEach((id, r) => expect(got.subarray(r * width, (r + 1) * width)).toEqual(table.subarray(id * width, (id + 1) * width)));
  });
});
