// Dequantizers of ggml's K-quant super-blocks of 256 (ggml-common.h), little-endian, d and dmin f16.
//   Q4_K 144 B: d, dmin, scales[12], qs[128]
//   Q5_K 176 B: d, dmin, scales[12], qh[32], qs[128]
//   Q6_K 210 B: ql[128], qh[64], int8 scales[16], d        (d comes LAST)
// Q4_K/Q5_K: 8 sub-blocks of 32, each with a 6-bit scale sc and 6-bit min m (packing in kscales.ts);
//   qs is 4 chunks of 32 bytes; chunk c holds sub-block 2c in its low nibbles, 2c+1 in its high nibbles.
//   Q5_K's bit 4 of element l of sub-block j is bit j of qh[l].   y = (d*sc) * q - (dmin*m)
// Q6_K: 16 sub-blocks of 16 with int8 scales; two halves of 128 elements; in half h, element 32t + i
//   (t = 0..3, i = 0..31) takes its low 4 bits from ql[64h + 32(t & 1) + i] (low nibble for t < 2, high
//   for t >= 2) and its top 2 bits from bits 2t..2t+1 of qh[32h + i].   y = (d*scale) * (q - 32)
// Arithmetic as gguf-py, in f32: d*sc, dmin*m and d*sc*q are exact in f32 for Q4_K/Q5_K, so the single
// rounding is the subtraction (done in f64 on exact f32 operands, so it rounds to the same f32); Q6_K's
// d*scale*(q-32) needs up to 25 bits and is rounded once, by the store.
import { f16Table } from './half.ts';
import { unpackScaleMin } from './kscales.ts';

type Dequant = (bytes: Uint8Array, nBlocks: number, out: Float32Array) => void;

function dequantizeQ45K(b: Uint8Array, nBlocks: number, out: Float32Array, five: boolean): void {
  const t = f16Table();
  const size = five ? 176 : 144;
  const sm = new Uint8Array(16); // sc[0..8) then m[0..8)
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += size, y += 256) {
    const d = t[b[o] | (b[o + 1] << 8)];
    const dmin = t[b[o + 2] | (b[o + 3] << 8)];
    unpackScaleMin(b, o + 4, sm);
    const qh = o + 16; // Q5_K only
    const qs = five ? o + 48 : o + 16;
    for (let c = 0; c < 4; c++) {
      const dLo = Math.fround(d * sm[2 * c]);
      const mLo = Math.fround(dmin * sm[8 + 2 * c]);
      const dHi = Math.fround(d * sm[2 * c + 1]);
      const mHi = Math.fround(dmin * sm[8 + 2 * c + 1]);
      const yLo = y + 64 * c;
      const bitLo = 2 * c;
      for (let l = 0; l < 32; l++) {
        const q = b[qs + 32 * c + l];
        let lo = q & 0x0f;
        let hi = q >> 4;
        if (five) {
          const h = b[qh + l];
          lo |= ((h >> bitLo) & 1) << 4;
          hi |= ((h >> (bitLo + 1)) & 1) << 4;
        }
        out[yLo + l] = dLo * lo - mLo;
        out[yLo + 32 + l] = dHi * hi - mHi;
      }
    }
  }
}

export const dequantizeQ4_K: Dequant = (b, n, out) => dequantizeQ45K(b, n, out, false);
export const dequantizeQ5_K: Dequant = (b, n, out) => dequantizeQ45K(b, n, out, true);

export const dequantizeQ6_K: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  const ds = new Float32Array(16);
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 210, y += 256) {
    const d = t[b[o + 208] | (b[o + 209] << 8)];
    for (let s = 0; s < 16; s++) ds[s] = d * ((b[o + 192 + s] << 24) >> 24); // exact: 11 x 8 bits
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const yh = y + 128 * h;
      const sh = 8 * h; // sub-block (16 elements) index at the start of this half
      for (let i = 0; i < 32; i++) {
        const a = b[ql + i];
        const c = b[ql + 32 + i];
        const hb = b[qh + i];
        const s = sh + (i >> 4); // element 32t + i sits in sub-block 2t + i/16 of the half
        out[yh + i] = ds[s] * (((a & 0x0f) | ((hb & 3) << 4)) - 32);
        out[yh + 32 + i] = ds[s + 2] * (((c & 0x0f) | (((hb >> 2) & 3) << 4)) - 32);
        out[yh + 64 + i] = ds[s + 4] * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
        out[yh + 96 + i] = ds[s + 6] * (((c >> 4) | (((hb >> 6) & 3) << 4)) - 32);
      }
    }
  }
};
