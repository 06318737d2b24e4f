// f16 and bf16 conversions against independent oracles: the IEEE definition of each f16 pattern
// (computed in f64 with powers of two), and a nearest-value search over all f16s for the rounding.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16ToFloat, f16Table, floatToBf16, floatToHalf, halfToFloat } from './half.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => ((f32[0] = x), u32[0]);
const fromBits = (b: number): number => ((u32[0] = b >>> 0), f32[0]);

/** binary16 by definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
function ieeeHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return e === 0 ? s * 2 ** -14 * (m / 1024) : s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Nearest finite-or-inf f16 to x (ties to the even pattern), by search over the 31744 non-negative finite patterns. */
function nearestHalfOracle(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Values at or above 65520 (halfway between 65504 and the would-be 65536) round to inf.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ieeeHalf(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0x7bff) return sign | lo;
  const below = a - ieeeHalf(lo);
  const above = ieeeHalf(lo + 1) - a;
  const pick = below < above ? lo : above < below ? lo + 1 : (lo & 1) === 0 ? lo : lo + 1;
  return sign | pick;
}

describe('f16 -> f32', () => {
  it('matches the IEEE definition for all 65536 patterns (subnormals, -0, inf, NaN)', () => {
    const t = f16Table();
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = ieeeHalf(h);
      if (Number.isNaN(want) ? !Number.isNaN(t[h]) : !Object.is(t[h], want)) bad++;
    }
    expect(bad).toBe(0);
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });
});

describe('f32 -> f16 (round to nearest, ties to even)', () => {
  it('round-trips every non-NaN f16 exactly, and keeps every NaN a NaN', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const x = halfToFloat(h);
      const back = floatToHalf(x);
      if (Number.isNaN(x) ? (back & 0x7c00) !== 0x7c00 || (back & 0x3ff) === 0 : back !== h) bad++;
    }
    expect(bad).toBe(0);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('rounds ties to even at the subnormal, normal and overflow edges', () => {
    const cases: Array<[number, number]> = [
      [2 ** -25, 0x0000], // half of the smallest subnormal: tie, to even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: to even
      [2 ** -14 - 2 ** -25, 0x0400], // tie between the largest subnormal and the smallest normal
      [1 + 2 ** -11, 0x3c00], // tie: to even (1.0)
      [1 + 3 * 2 ** -11, 0x3c02],
      [65504, 0x7bff],
      [65519.99609375, 0x7bff], // just below the overflow tie (an f32 value)
      [65520, 0x7c00],
      [-Infinity, 0xfc00],
      [-0, 0x8000],
    ];
    for (const [x, h] of cases) expect(floatToHalf(x), String(x)).toBe(h);
    // the oracle agrees with these facts too
    for (const [x, h] of cases) expect(nearestHalfOracle(x), String(x)).toBe(h);
  });

  it('equals the nearest-value oracle for random f32 values of every magnitude', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(floatToHalf(x)).toBe(nearestHalfOracle(x));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0x30000000, max: 0x47ffffff }), fc.boolean(), (b, neg) => {
        const x = fromBits(b) * (neg ? -1 : 1); // dense in the f16 range, subnormals included
        expect(floatToHalf(x)).toBe(nearestHalfOracle(x));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('bf16', () => {
  it('is the top 16 bits of an f32, for all 65536 patterns', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const x = bf16ToFloat(h);
      if (Number.isNaN(x) ? (h & 0x7f80) !== 0x7f80 : bitsOf(x) !== ((h << 16) >>> 0)) bad++;
      if (!Number.isNaN(x) && floatToBf16(x) !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds f32 to the nearest bf16, ties to even, overflowing to inf', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const lo = bitsOf(x) >>> 16; // truncation toward zero: |lo| <= |x| < |lo + 1|
        const a = Math.abs(x);
        const loV = Math.abs(bf16ToFloat(lo));
        const hiV = (lo & 0x7fff) === 0x7f7f ? 2 ** 128 : Math.abs(bf16ToFloat(lo + 1)); // past the largest: inf sits where 2^128 would
        const want = a - loV < hiV - a ? lo : hiV - a < a - loV ? lo + 1 : (lo & 1) === 0 ? lo : lo + 1;
        expect(floatToBf16(x)).toBe(Number.isFinite(x) ? want : lo);
      }),
      { numRuns: 5000 },
    );
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie: to even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16(fromBits(0x7f7fffff))).toBe(0x7f80); // rounds up into inf
  });

  it('keeps NaN a quiet NaN', () => {
    const h = floatToBf16(fromBits(0x7f800001)); // a signalling NaN whose payload is all in the low half
    expect(Number.isNaN(bf16ToFloat(h))).toBe(true);
    expect(h & 0x40).toBe(0x40);
  });
});
