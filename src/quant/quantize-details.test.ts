// Rounding details the test vectors do not happen to exercise, each pinned by an input built to sit on the
// boundary where the alternatives disagree. The expected bits come from gguf-py 0.19's numpy code
// (gguf/quants.py), which the vectors' packer ran:
//   Q4_0/Q5_0: qs = trunc(float64(x) * float64(id) + float64(8.5 | 16.5))     (float64, "to match ggml's FMA")
//   Q8_0:      qs = roundf(x * id) with id = float32(1 / d), the product in float32
// and, for the K-quants, from the documented departures from plain round-to-nearest in kquants-quantize.ts.
import { describe, expect, it } from 'vitest';
import { dequantize, halfToFloat, quantize } from './index.ts';

const fr = Math.fround;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The float32 `steps` ulps away from x (x > 0 or x < 0, not crossing 0). */
const ulps = (x: number, steps: number): number => ((f32[0] = x), (u32[0] += steps), f32[0]);

/** Nibble j (< 16) of a Q4_0 block; element j + 16 would be the high nibble. */
const nibble = (b: Uint8Array, j: number): number => b[2 + j] & 0x0f;

describe('legacy quantizers on rounding boundaries', () => {
  it('Q4_0 adds 8.5 to the float64 product, not the float32 one', () => {
    const d = fr(7 / -8); // block max 7: d = max / -8
    const id = fr(1 / d);
    let found = 0;
    for (let k = 1; k <= 15 && found < 3; k++) {
      const x0 = fr((k - 8.5) / id);
      for (let s = -40; s <= 40; s++) {
        const x = ulps(x0, s);
        if (!(Math.abs(x) < 7)) continue;
        const f64 = Math.trunc(x * id + 8.5);
        const f32Product = Math.trunc(fr(x * id) + 8.5);
        if (f64 === f32Product) continue;
        const block = new Float32Array(32);
        block[0] = 7;
        block[1] = x;
        expect(nibble(quantize('Q4_0', block), 1), `x = ${x}`).toBe(Math.min(15, f64));
        found++;
      }
    }
    expect(found).toBeGreaterThan(0); // the scan did find discriminating inputs
  });

  it('Q8_0 multiplies by the float32 reciprocal of d, in float32, then rounds half away from zero', () => {
    const amax = 3.3; // any block maximum whose d = amax/127 has an inexact reciprocal
    const d = fr(fr(amax) / 127);
    const id = fr(1 / d);
    let found = 0;
    for (let k = 1; k <= 126 && found < 3; k++) {
      const x0 = fr((k + 0.5) / id);
      for (let s = -8; s <= 8; s++) {
        const x = ulps(x0, s);
        const want = Math.floor(fr(x * id) + 0.5); // gguf-py / ggml
        const exactId = Math.floor(fr(x / d) + 0.5); // dividing by d instead: a plausible mistake
        if (want === exactId || !(x < fr(amax))) continue;
        const block = new Float32Array(32);
        block[0] = fr(amax);
        block[5] = x;
        expect((quantize('Q8_0', block)[2 + 5] << 24) >> 24, `x = ${x}`).toBe(want);
        found++;
      }
    }
    expect(found).toBeGreaterThan(0);
  });

  it('Q4_0/Q5_0 take the first value of largest magnitude, with its sign (numpy argmax)', () => {
    const block = new Float32Array(32);
    block[2] = -3;
    block[5] = 3; // same magnitude, later: must not win
    for (const [name, levels] of [['Q4_0', 8], ['Q5_0', 16]] as const) {
      const b = quantize(name, block);
      // d = max / -levels: +3/levels from the first (-3); the later +3 would give a negative d
      expect(halfToFloat(b[0] | (b[1] << 8)), name).toBe(3 / levels);
    }
  });

  it('Q8_0 rounds exact halves away from zero (roundf), on both sides', () => {
    const block = new Float32Array(32);
    block.set([127, -2.5, 2.5, -0.5, 0.5, -126.5]); // amax 127: d = 1, id = 1, products exact
    const q = Array.from(quantize('Q8_0', block).subarray(2, 8), (b) => (b << 24) >> 24);
    expect(q).toEqual([127, -3, 3, -1, 1, -127]);
  });
});

describe('K-quant departures from plain round-to-nearest', () => {
  // One sub-block spans 0..1000; the other seven hold values in [-2, 2]. Their 6-bit scales, relative to
  // d = (1000/15)/63 ~ 1.06, round to 0; plain RTN would then flatten each of them to a single level.
  const x = new Float32Array(256);
  for (let i = 0; i < 256; i++) x[i] = i < 32 ? (i * 1000) / 31 : 2 * Math.sin(i * 1.3);
  for (const [name, qmax] of [['Q4_K', 15], ['Q5_K', 31]] as const) {
    it(`${name}: a sub-block whose scale rounds to 0 still gets a nonzero step`, () => {
      const y = dequantize(name, quantize(name, x), 256);
      const d = 1000 / qmax / 63;
      const dmin = 2 / 63;
      let err = 0;
      for (let i = 32; i < 256; i++) err = Math.max(err, Math.abs(y[i] - x[i]));
      expect(err).toBeLessThanOrEqual((d / 2 + dmin / 2) * 1.01); // one-level collapse would give ~2
    });
  }
  it('Q6_K: a sub-block whose int8 scale rounds to 0 still gets a nonzero step', () => {
    const z = new Float32Array(256);
    for (let i = 0; i < 256; i++) z[i] = i === 3 ? 30000 : 5 * Math.sin(i * 1.3); // d = (30000/32)/128 ~ 7.3
    const y = dequantize('Q6_K', quantize('Q6_K', z), 256);
    const d = 30000 / 32 / 128;
    let err = 0;
    for (let i = 16; i < 256; i++) err = Math.max(err, Math.abs(y[i] - z[i]));
    expect(err).toBeLessThanOrEqual((d / 2) * 1.01); // all-zero output would give ~5
  });

  it('tiny rows whose f16 super-scale underflows still quantize (d moves one f16 step up)', () => {
    const t = new Float32Array(256);
    for (let i = 0; i < 256; i++) t[i] = 1e-6 * Math.sin(i * 0.77); // d = (2e-6/15)/63 ~ 2e-9: 0 in f16
    for (const name of ['Q4_K', 'Q5_K', 'Q6_K'] as const) {
      const y = dequantize(name, quantize(name, t), 256);
      let err = 0;
      for (let i = 0; i < 256; i++) err = Math.max(err, Math.abs(y[i] - t[i]));
      expect(err, name).toBeLessThan(0.5e-6); // flushing to 0 would give 1e-6
    }
  });
});
