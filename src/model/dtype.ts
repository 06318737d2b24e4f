import type { DType, Tensor } from './weights.ts';

/** Bytes per element of each dtype Folio reads. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = { F32: 4, F16: 2, BF16: 2 };

export function isDType(s: unknown): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

// One scratch word, read as both f32 and u32, to move between a float and its bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The value of one IEEE binary16 bit pattern. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** The binary16 bit pattern nearest to x, ties to even; overflow gives infinity, NaN stays NaN. */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  const b = scratchU32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  // 0x200 keeps a NaN whose payload sits only in the dropped bits from turning into infinity.
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below the normal range: a subnormal or zero. Anything under half the smallest
    // subnormal (2^-25) rounds to zero.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(full, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (and may reach infinity).
  return (sign | (e << 10)) + roundShift(mant, 13);
}

/** v >> shift, rounded to nearest with ties to even. */
function roundShift(v: number, shift: number): number {
  const q = v >>> shift;
  const rem = v & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && q & 1) ? q + 1 : q;
}

/** The value of one bfloat16 bit pattern. */
export function bf16BitsToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** The bfloat16 bit pattern nearest to x (ties to even); NaN stays NaN. */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const b = scratchU32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

// All 65536 f16 values, built once on first use: widening becomes one lookup per element.
let f16Table: Float32Array | null = null;
function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/** Little-endian u16 words of `bytes`, copying only when the view is misaligned. */
function u16Words(bytes: Uint8Array): Uint16Array {
  const b = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}

/**
 * A tensor's elements as f32. An aligned F32 tensor is returned as a view of its bytes
 * (no copy: a multi-GB model must not be held twice); everything else is a new array.
 * Assumes a little-endian host, as every browser platform is.
 */
export function widen(t: Tensor): Float32Array {
  const { dtype, bytes } = t;
  if (dtype === 'F32') {
    const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }
  const words = u16Words(bytes);
  const out = new Float32Array(words.length);
  if (dtype === 'F16') {
    const table = f16Lookup();
    for (let i = 0; i < words.length; i++) out[i] = table[words[i]];
  } else {
    // bf16 is the top half of an f32: shifting the bits back is exact for every value.
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < words.length; i++) outBits[i] = words[i] << 16;
  }
  return out;
}

/** f32 data narrowed to `dtype` (ties to even) as a Tensor; for tests and synthetic models. */
export function narrow(data: Float32Array, shape: number[], dtype: DType): Tensor {
  if (dtype === 'F32') {
    const copy = data.slice();
    return { dtype, shape, bytes: new Uint8Array(copy.buffer) };
  }
  const words = new Uint16Array(data.length);
  const toBits = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < data.length; i++) words[i] = toBits(data[i]);
  return { dtype, shape, bytes: new Uint8Array(words.buffer) };
}
