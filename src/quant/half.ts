// IEEE binary16 (f16) and bfloat16 (bf16) <-> f32 conversions.
// f16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; exponent 0 = subnormal (m * 2^-24),
// exponent 31 = inf (m = 0) or NaN. bf16: the top 16 bits of an f32.
// Both narrowings round to nearest, ties to even, as ggml's GGML_FP32_TO_FP16 / ggml_compute_fp32_to_bf16
// and numpy's astype(float16) do; every f16 scale in a GGUF block was written that way.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let table: Float32Array | undefined;

/** f16 bits -> f32 value, for all 65536 patterns; 256 KiB, built on first use (about a millisecond). */
export function f16Table(): Float32Array {
  if (table !== undefined) return table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0x1f) {
      bits[h] = sign | 0x7f800000 | (man << 13); // inf, or NaN with its payload kept
    } else if (exp !== 0) {
      bits[h] = sign | ((exp - 15 + 127) << 23) | (man << 13);
    } else {
      t[h] = (sign ? -man : man) * 2 ** -24; // subnormal or zero: exact in f32; -man keeps -0
    }
  }
  table = t;
  return t;
}

/** f16 bits -> number (an exact f32 value). */
export function halfToFloat(h: number): number {
  return f16Table()[h & 0xffff];
}

/** Rounds an f32 value to the nearest f16 (ties to even) and returns its bits; overflow gives inf, NaN stays NaN. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man !== 0 ? 0x200 | (man >>> 13) : 0);
  const e = exp - 127 + 15; // f16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    // Normal: drop 13 bits; a carry out of the mantissa bumps the exponent, up to inf, as it should.
    let h = (e << 10) | (man >>> 13);
    const rem = man & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  // Subnormal f16 (or zero): value / 2^-24 = m >> (14 - e), with m the 24-bit significand.
  if (exp === 0) return sign; // f32 subnormals are far below 2^-25
  const shift = 14 - e;
  if (shift > 24) return sign;
  const m = man | 0x800000;
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) !== 0)) h++; // may carry into the smallest normal: still right
  return sign | h;
}

/** Stores x as a little-endian f16 (ties to even) at out[o], out[o + 1]: how every block writes d and m. */
export function writeHalf(out: Uint8Array, o: number, x: number): void {
  const h = floatToHalf(x);
  out[o] = h & 0xff;
  out[o + 1] = h >>> 8;
}

/** bf16 bits -> number: they are the top half of an f32. */
export function bf16ToFloat(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** f32 -> bf16 bits, ties to even; a NaN becomes a quiet NaN (ggml_compute_fp32_to_bf16). */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0xffff) | 0x40;
  return Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536) & 0xffff;
}
