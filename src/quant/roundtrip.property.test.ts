// Property: for random rows, dequantize(quantize(x)) stays within the format's step size, block by block.
// Each bound is derived from the INPUT alone (the ideal scale of each block and sub-block), never from the
// packed bytes, so a wrong layout, scale packing or rounding makes it fail. Slack terms:
//   H = 2^-10: relative error allowed for an f16 scale (RNE is within 2^-11),
//   S = 2^-24: the f16 subnormal spacing, the absolute floor of any f16 scale's rounding.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantize, FORMATS, packedBytes, quantize, type WeightFormat } from './index.ts';

const H = 2 ** -10;
const S = 2 ** -24;
const f16Err = (v: number): number => Math.abs(v) * H + S; // |v - f16(v)|, generously

type Bound = (x: Float32Array, i0: number) => Float64Array; // per-element error bound for one block

function absMax(x: Float32Array, i0: number, n: number): number {
  let a = 0;
  for (let j = 0; j < n; j++) a = Math.max(a, Math.abs(x[i0 + j]));
  return a;
}
function range(x: Float32Array, i0: number, n: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < n; j++) {
    lo = Math.min(lo, x[i0 + j]);
    hi = Math.max(hi, x[i0 + j]);
  }
  return [lo, hi];
}
const fill = (n: number, v: number): Float64Array => new Float64Array(n).fill(v);

const BOUNDS: Record<WeightFormat, Bound> = {
  F32: () => fill(1, 0),
  F16: (x, i) => fill(1, Math.abs(x[i]) * 2 ** -11 + 2 ** -25),
  BF16: (x, i) => fill(1, Math.abs(x[i]) * 2 ** -8 + 2 ** -134), // + half the bf16 subnormal spacing
  // step d = amax/127; half a step, plus 127 times d's f16 error
  Q8_0: (x, i) => {
    const d = absMax(x, i, 32) / 127;
    return fill(32, d / 2 + 127 * f16Err(d));
  },
  // step d = amax/8 (amax/16); the end opposite the signed max is clamped one level short: a whole step
  Q4_0: (x, i) => {
    const d = absMax(x, i, 32) / 8;
    return fill(32, d + 8 * f16Err(d));
  },
  Q5_0: (x, i) => {
    const d = absMax(x, i, 32) / 16;
    return fill(32, d + 16 * f16Err(d));
  },
  // step d = (max - min)/15 (31); half a step, plus the f16 errors of d (times 15) and of m
  Q4_1: (x, i) => {
    const [lo, hi] = range(x, i, 32);
    const d = (hi - lo) / 15;
    return fill(32, d / 2 + 15 * f16Err(d) + f16Err(lo));
  },
  Q5_1: (x, i) => {
    const [lo, hi] = range(x, i, 32);
    const d = (hi - lo) / 31;
    return fill(32, d / 2 + 31 * f16Err(d) + f16Err(lo));
  },
  Q4_K: (x, i) => kBound(x, i, 15),
  Q5_K: (x, i) => kBound(x, i, 31),
  Q6_K: (x, i) => {
    // sub-block scale s = amax/32; D = max s / 128 is the step of the int8 scales (plus its f16 error).
    // A sub-block's effective scale is within D of s (rounding, or clamping 128 to 127), so:
    // interior error <= (s + D)/2; the clamped ends (q = -32 or 31) <= s + 32 D.
    const s = new Float64Array(16);
    for (let b = 0; b < 16; b++) s[b] = absMax(x, i + 16 * b, 16) / 32;
    const D = Math.max(...s) / 128 + f16Err(Math.max(...s) / 128) + S;
    const out = new Float64Array(256);
    for (let j = 0; j < 256; j++) out[j] = s[j >> 4] + 33 * D;
    return out;
  },
};

/**
 * Q4_K/Q5_K: sub-block scale s = (max - min(0, min)) / qmax, min offset -min(0, min); both quantized to
 * 6 bits against D = max s / 63 and Dm = max offset / 63 (each plus its f16 error, one step up allowed).
 * Interior error <= (s + D)/2; the top end may fall short by qmax*D/2 + Dm/2; the bottom by Dm/2.
 */
function kBound(x: Float32Array, i0: number, qmax: number): Float64Array {
  const s = new Float64Array(8);
  const off = new Float64Array(8);
  for (let b = 0; b < 8; b++) {
    const [lo, hi] = range(x, i0 + 32 * b, 32);
    s[b] = (hi - Math.min(0, lo)) / qmax;
    off[b] = -Math.min(0, lo);
  }
  const D = Math.max(...s) / 63 + f16Err(Math.max(...s) / 63) + S;
  const Dm = Math.max(...off) / 63 + f16Err(Math.max(...off) / 63) + S;
  const out = new Float64Array(256);
  for (let j = 0; j < 256; j++) out[j] = Math.max((s[j >> 5] + D) / 2, (qmax * D) / 2 + Dm / 2);
  return out;
}

const NAMES = Object.keys(FORMATS) as WeightFormat[];

/**
 * Rows of 1-4 blocks: values in [-1, 1] (fast-check favours edge cases: 0, -0, tiny, +-1), scaled by 2^k,
 * maybe with one value 8x the rest. |x| stays below 2^15: f16 scales and mins overflow near 65504 in every
 * ggml format (ggml and gguf-py write inf there too), which no real weight comes near.
 */
const rowOf = (blockElems: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -30, max: 12 }), fc.boolean())
    .chain(([blocks, k, outlier]) =>
      fc
        .array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: blocks * blockElems, maxLength: blocks * blockElems })
        .map((v) => {
          const x = Float32Array.from(v, (e) => e * 2 ** k);
          if (outlier) x[(v.length * 7) >> 4] *= 8; // one large value, to stress the block scales
          return x;
        }),
    );

describe('dequantize(quantize(x)) stays within the format step', () => {
  for (const name of NAMES) {
    it(name, () => {
      const { blockElems } = FORMATS[name];
      fc.assert(
        fc.property(rowOf(blockElems), (x) => {
          const packed = quantize(name, x);
          expect(packed.length).toBe(packedBytes(name, x.length));
          expect(packed.length).toBe((x.length / blockElems) * FORMATS[name].blockBytes);
          const y = dequantize(name, packed, x.length);
          for (let i0 = 0; i0 < x.length; i0 += blockElems) {
            const bound = BOUNDS[name](x, i0);
            for (let j = 0; j < blockElems; j++) {
              const err = Math.abs(y[i0 + j] - x[i0 + j]);
              const allowed = bound[j % bound.length] * (1 + 2 ** -20) + Math.abs(x[i0 + j]) * 2 ** -23;
              if (!(err <= allowed)) throw new Error(`${name}: x[${i0 + j}] = ${x[i0 + j]} -> ${y[i0 + j]}, error ${err} > ${allowed}`);
            }
          }
        }),
        { numRuns: name.startsWith('Q') ? 150 : 50 },
      );
    });
  }
});

describe('dequantize reads any byte offset and writes into a given output', () => {
  for (const name of NAMES) {
    it(name, () => {
      const n = FORMATS[name].blockElems * 3;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)));
      const packed = quantize(name, x);
      const shifted = new Uint8Array(packed.length + 3);
      shifted.set(packed, 1); // odd byteOffset: no aligned typed-array view possible
      const out = new Float32Array(n + 8).fill(42);
      const y = dequantize(name, shifted.subarray(1), n, out.subarray(4));
      expect(y.buffer).toBe(out.buffer);
      expect(Array.from(out.subarray(4, 4 + n))).toEqual(Array.from(dequantize(name, packed, n)));
      expect([out[3], out[4 + n]]).toEqual([42, 42]); // nothing written outside
    });
  }
});
