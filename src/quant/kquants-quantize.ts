// Round-to-nearest quantizers for the K-quant super-blocks (layouts in kquants.ts). ggml's own
// quantize_row_q*_K_ref searches scales (make_qkx2_quants / make_qx_quants) for lower squared error;
// this does not, so the bytes differ from llama-quantize's, but every block is a valid ggml block.
// The recipe, as the test vectors' packer and ggml's final pass do it:
// - Per sub-block an ideal scale (Q4_K/Q5_K: (max - min) / qmax with min clamped to <= 0, so an all-positive
//   sub-block keeps m = 0; Q6_K: the value of largest magnitude, signed, / -32).
// - Those scales, and the mins, are themselves quantized against a per-super-block f16 d (dmin): 6 bits
//   unsigned for Q4_K/Q5_K (d = max scale / 63), int8 for Q6_K (d = max scale / -128).
// - Quants are rounded against the EFFECTIVE scale d16 * sc (and min dmin16 * m), the values the
//   dequantizer will use, so f16 and 6-bit rounding do not accumulate.
// Two departures from plain RTN, each never worse:
// - A sub-block with a nonzero range whose scale rounds to 0 gets scale 1 (q = 0 still reproduces the
//   old output, and rounding to nearest only picks a closer level).
// - When rounding d (or dmin) to f16 goes down so far that the largest sub-block's scale would clamp
//   (always so when it underflows to 0: tiny rows), d moves one f16 step up instead.
import { QK_K } from './formats.ts';
import { floatToHalf, halfToFloat, writeHalf } from './half.ts';
import { packScaleMin } from './kscales.ts';

const fr = Math.fround;

/** Nearest integer, ties away from zero (ggml's nearest_int rounds ties to even; either is a valid RTN). */
const nearest = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/**
 * The f16 nearest max / levels, moved one step away from zero if the nearest one would make
 * nearest(max / d) overflow `levels` (then the largest sub-block would be clipped).
 */
function superScale(max: number, levels: number): number {
  let h = floatToHalf(max / levels);
  if (max !== 0 && Math.abs(halfToFloat(h)) * (Math.abs(levels) + 0.5) <= Math.abs(max)) h++; // sign-magnitude: h+1 is one ulp larger in magnitude
  return halfToFloat(h);
}

function quantizeQ45K(x: Float32Array, nBlocks: number, out: Uint8Array, five: boolean): void {
  const qmax = five ? 31 : 15;
  const size = five ? 176 : 144;
  const scale = new Float64Array(8);
  const negMin = new Float64Array(8);
  const sc = new Uint8Array(8);
  const m = new Uint8Array(8);
  const q = new Uint8Array(QK_K);
  for (let blk = 0, i0 = 0, o = 0; blk < nBlocks; blk++, i0 += QK_K, o += size) {
    let maxScale = 0;
    let maxNegMin = 0;
    for (let j = 0; j < 8; j++) {
      let lo = 0; // min clamped to <= 0: the stored offset -dmin*m can only lower the levels (m >= 0)
      let hi = -Infinity;
      for (let l = 0; l < 32; l++) {
        const v = x[i0 + 32 * j + l];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      scale[j] = (hi - lo) / qmax;
      negMin[j] = -lo;
      maxScale = Math.max(maxScale, scale[j]);
      maxNegMin = Math.max(maxNegMin, negMin[j]);
    }
    const d = superScale(maxScale, 63);
    const dmin = superScale(maxNegMin, 63);
    for (let j = 0; j < 8; j++) {
      sc[j] = d > 0 ? clamp(nearest(scale[j] / d), 0, 63) : 0;
      if (sc[j] === 0 && scale[j] > 0 && d > 0) sc[j] = 1;
      m[j] = dmin > 0 ? clamp(nearest(negMin[j] / dmin), 0, 63) : 0;
      const ds = fr(d * sc[j]);
      const dm = fr(dmin * m[j]);
      for (let l = 0; l < 32; l++) {
        const i = 32 * j + l;
        q[i] = ds > 0 ? clamp(nearest((x[i0 + i] + dm) / ds), 0, qmax) : 0;
      }
    }
    out.fill(0, o, o + size);
    writeHalf(out, o, d);
    writeHalf(out, o + 2, dmin);
    packScaleMin(sc, m, out, o + 4);
    const qs = five ? o + 48 : o + 16;
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const a = q[64 * c + l];
        const b = q[64 * c + 32 + l];
        out[qs + 32 * c + l] = (a & 0x0f) | ((b & 0x0f) << 4);
        if (five) out[o + 16 + l] |= ((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1));
      }
    }
  }
}

export const quantizeQ4_K = (x: Float32Array, n: number, out: Uint8Array): void => quantizeQ45K(x, n, out, false);
export const quantizeQ5_K = (x: Float32Array, n: number, out: Uint8Array): void => quantizeQ45K(x, n, out, true);

export function quantizeQ6_K(x: Float32Array, nBlocks: number, out: Uint8Array): void {
  const scale = new Float64Array(16);
  const sc = new Int8Array(16);
  const q = new Uint8Array(QK_K); // q + 32, 0..63
  for (let blk = 0, i0 = 0, o = 0; blk < nBlocks; blk++, i0 += QK_K, o += 210) {
    let maxScale = 0; // signed: the scale of largest magnitude
    for (let s = 0; s < 16; s++) {
      let amax = 0;
      let max = 0;
      for (let l = 0; l < 16; l++) {
        const v = x[i0 + 16 * s + l];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
        }
      }
      scale[s] = max / -32; // the largest-magnitude value lands on q = -32, the level with no mirror
      if (Math.abs(scale[s]) > Math.abs(maxScale)) maxScale = scale[s];
    }
    const d = superScale(maxScale, -128);
    for (let s = 0; s < 16; s++) {
      sc[s] = d !== 0 ? clamp(nearest(scale[s] / d), -128, 127) : 0;
      if (sc[s] === 0 && scale[s] !== 0 && d !== 0) sc[s] = scale[s] / d > 0 ? 1 : -1;
      const ds = fr(d * sc[s]);
      for (let l = 0; l < 16; l++) {
        const i = 16 * s + l;
        q[i] = ds !== 0 ? clamp(nearest(x[i0 + i] / ds), -32, 31) + 32 : 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 32; i++) {
        const e = 128 * h + i; // elements e, e+32, e+64, e+96 share ql/qh bytes (see kquants.ts)
        out[o + 64 * h + i] = (q[e] & 0x0f) | ((q[e + 64] & 0x0f) << 4);
        out[o + 64 * h + 32 + i] = (q[e + 32] & 0x0f) | ((q[e + 96] & 0x0f) << 4);
        out[o + 128 + 32 * h + i] = (q[e] >> 4) | ((q[e + 32] >> 4) << 2) | ((q[e + 64] >> 4) << 4) | ((q[e + 96] >> 4) << 6);
      }
    }
    for (let s = 0; s < 16; s++) out[o + 192 + s] = sc[s] & 0xff;
    writeHalf(out, o + 208, d);
  }
}
