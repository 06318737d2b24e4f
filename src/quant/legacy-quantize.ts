// Quantizers of the 32-element blocks, byte-for-byte those of gguf-py 0.19 (gguf.quants), which ports
// ggml's quantize_row_*_ref. Block layouts are in legacy.ts. The float details matter for bit-exactness:
// - Every intermediate that gguf-py keeps in float32 is Math.fround-ed here, in the same order.
// - Q4_0/Q5_0 take the value of largest magnitude WITH its sign (the first one on ties), d = max / -8
//   (or -16), and compute x * id + 8.5 (16.5) in float64, as gguf-py does to match ggml's FMA, then truncate.
// - Q4_1/Q5_1 compute ((x - min) * id + 0.5) in float32 steps and truncate; m is min rounded to f16.
// - Q8_0 rounds x * id (float32) half away from zero (roundf).
// - id is computed from the unrounded f32 d; only the stored d is rounded to f16 (ties to even).
import { writeHalf } from './half.ts';

const fr = Math.fround;

/** The first value of largest magnitude in x[i0 .. i0+32), with its sign. */
function signedAbsMax(x: Float32Array, i0: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[i0 + j];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(x: Float32Array, i0: number): [number, number] {
  let min = x[i0];
  let max = x[i0];
  for (let j = 1; j < 32; j++) {
    const v = x[i0 + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

export function quantizeQ8_0(x: Float32Array, nBlocks: number, out: Uint8Array): void {
  for (let blk = 0, i0 = 0, o = 0; blk < nBlocks; blk++, i0 += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i0 + j]));
    const d = fr(amax / 127);
    const id = d === 0 ? 0 : fr(1 / d);
    writeHalf(out, o, d);
    for (let j = 0; j < 32; j++) {
      const v = fr(x[i0 + j] * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // roundf: half away from zero; |v| <= 127.5, exact
      out[o + 2 + j] = q & 0xff; // int8 two's complement
    }
  }
}

/** Q4_0 (bits 4, offset 8) and Q5_0 (bits 5, offset 16) share everything but the packing of bit 4. */
function quantizeSymmetric(x: Float32Array, nBlocks: number, out: Uint8Array, five: boolean): void {
  const offset = five ? 16 : 8;
  const qmax = five ? 31 : 15;
  const size = five ? 22 : 18;
  const qs0 = five ? 6 : 2;
  const q = new Uint8Array(32);
  for (let blk = 0, i0 = 0, o = 0; blk < nBlocks; blk++, i0 += 32, o += size) {
    const max = signedAbsMax(x, i0);
    const d = fr(max / -offset);
    const id = d === 0 ? 0 : fr(1 / d);
    for (let j = 0; j < 32; j++) q[j] = Math.min(qmax, Math.max(0, Math.trunc(x[i0 + j] * id + (offset + 0.5))));
    writeHalf(out, o, d);
    writeNibblesAndHigh(q, out, o, qs0, five ? o + 2 : -1);
  }
}

/** Q4_1 (15 levels) and Q5_1 (31 levels): min/max affine blocks. */
function quantizeAffine(x: Float32Array, nBlocks: number, out: Uint8Array, five: boolean): void {
  const qmax = five ? 31 : 15;
  const size = five ? 24 : 20;
  const qs0 = five ? 8 : 4;
  const q = new Uint8Array(32);
  for (let blk = 0, i0 = 0, o = 0; blk < nBlocks; blk++, i0 += 32, o += size) {
    const [min, max] = minMax(x, i0);
    const d = fr(fr(max - min) / qmax);
    const id = d === 0 ? 0 : fr(1 / d);
    for (let j = 0; j < 32; j++) {
      q[j] = Math.min(qmax, Math.max(0, Math.trunc(fr(fr(fr(x[i0 + j] - min) * id) + 0.5))));
    }
    writeHalf(out, o, d);
    writeHalf(out, o + 2, min);
    writeNibblesAndHigh(q, out, o, qs0, five ? o + 4 : -1);
  }
}

/** Packs 32 quants: low nibbles of elements j and j+16 share byte qs[j]; bit 4 of element j goes to bit j of qh. */
function writeNibblesAndHigh(q: Uint8Array, out: Uint8Array, o: number, qs0: number, qhAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    out[o + qs0 + j] = (q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4);
    qh |= ((q[j] >> 4) << j) | ((q[j + 16] >> 4) << (j + 16));
  }
  if (qhAt < 0) return;
  out[qhAt] = qh & 0xff;
  out[qhAt + 1] = (qh >>> 8) & 0xff;
  out[qhAt + 2] = (qh >>> 16) & 0xff;
  out[qhAt + 3] = (qh >>> 24) & 0xff;
}

export const quantizeQ4_0 = (x: Float32Array, n: number, out: Uint8Array): void => quantizeSymmetric(x, n, out, false);
export const quantizeQ5_0 = (x: Float32Array, n: number, out: Uint8Array): void => quantizeSymmetric(x, n, out, true);
export const quantizeQ4_1 = (x: Float32Array, n: number, out: Uint8Array): void => quantizeAffine(x, n, out, false);
export const quantizeQ5_1 = (x: Float32Array, n: number, out: Uint8Array): void => quantizeAffine(x, n, out, true);
