import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, narrow, widen } from '../../src/model/dtype.ts';

const words = (t: { bytes: Uint8Array }): Uint16Array => new Uint16Array(t.bytes.slice().buffer);
const allPatterns = (): Uint16Array => Uint16Array.from({ length: 65536 }, (_, i) => i);
const asBytes = (w: Uint16Array): Uint8Array => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);

describe('f16', () => {
  it('decodes normals, subnormals, zeros, infinities and NaN', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
  });

  it('widens every bit pattern and narrows it back to the same bits (NaN stays NaN)', () => {
    const all = allPatterns();
    const wide = widen({ dtype: 'F16', shape: [65536], bytes: asBytes(all) });
    const back = words(narrow(wide, [65536], 'F16'));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const ok = isNaN ? Number.isNaN(wide[h]) && Number.isNaN(f16BitsToF32(back[h])) : back[h] === h;
      if (!ok) throw new Error(`f16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, in normal and subnormal ranges', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, down to even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, up to even
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // past the tie
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie to 0
    expect(f32ToF16Bits(2 ** -25 * 1.5)).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 ulps: even
    expect(f32ToF16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up into the normals
    expect(f32ToF16Bits(-1e-10)).toBe(0x8000);
  });

  it('overflows to infinity and keeps infinities and NaN', () => {
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e30)).toBe(0xfc00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('picks the nearest f16 for any float', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), (x) => {
        const h = f32ToF16Bits(x);
        const err = Math.abs(x - f16BitsToF32(h));
        for (const n of [h - 1, h + 1]) {
          const v = f16BitsToF32(n & 0xffff);
          if (Number.isFinite(v) && Math.sign(v) === Math.sign(f16BitsToF32(h))) {
            expect(err).toBeLessThanOrEqual(Math.abs(x - v));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bf16', () => {
  it('widens every bit pattern and narrows it back to the same bits', () => {
    const all = allPatterns();
    const wide = widen({ dtype: 'BF16', shape: [65536], bytes: asBytes(all) });
    const back = words(narrow(wide, [65536], 'BF16'));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const ok = isNaN
        ? Number.isNaN(wide[h]) && Number.isNaN(bf16BitsToF32(back[h]))
        : Object.is(wide[h], bf16BitsToF32(h)) && back[h] === h;
      if (!ok) throw new Error(`bf16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80);
    expect(f32ToBf16Bits(-Infinity)).toBe(0xff80);
    expect(bf16BitsToF32(0x0001)).toBe(2 ** -133); // subnormal
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });

  it('picks the nearest bf16 for any float', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-3e38), max: Math.fround(3e38) }), (x) => {
        const h = f32ToBf16Bits(x);
        const err = Math.abs(x - bf16BitsToF32(h));
        for (const n of [h - 1, h + 1]) {
          const v = bf16BitsToF32(n & 0xffff);
          if (Number.isFinite(v) && Math.sign(v) === Math.sign(bf16BitsToF32(h))) {
            expect(err).toBeLessThanOrEqual(Math.abs(x - v));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('widen', () => {
  it('returns an aligned F32 tensor as a view, without copying', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = narrow(data, [3], 'F32');
    const out = widen(t);
    expect(out.buffer).toBe(t.bytes.buffer);
    expect([...out]).toEqual([1, 2, 3]);
  });

  it('reads tensors that start at odd byte offsets', () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const t = narrow(new Float32Array([0.5, -1.5, 3]), [3], dtype);
      const shifted = new Uint8Array(t.bytes.byteLength + 1);
      shifted.set(t.bytes, 1);
      expect([...widen({ ...t, bytes: shifted.subarray(1) })]).toEqual([0.5, -1.5, 3]);
    }
  });
});
