// Dequantizers of ggml's 32-element ("legacy") blocks. Layouts (ggml-common.h), little-endian, d and m f16:
//   Q8_0  34 B: d, int8 qs[32]                  y[j] = d * qs[j]
//   Q4_0  18 B: d, qs[16]                       y[j] = d * (q[j] - 8)
//   Q4_1  20 B: d, m, qs[16]                    y[j] = d * q[j] + m
//   Q5_0  22 B: d, qh (u32), qs[16]             y[j] = d * (q[j] - 16)
//   Q5_1  24 B: d, m, qh (u32), qs[16]          y[j] = d * q[j] + m
// Nibbles: element j < 16 is the low nibble of qs[j], element j + 16 the high nibble of qs[j].
// 5-bit types: bit 4 of element j is bit j of qh.
// Arithmetic is f32 as in gguf-py: d*q is exact in f32 (11-bit d times a <= 8-bit q), so the one
// rounding is the store into Float32Array (or the + m, done in f64 on exact f32 operands, which rounds
// to the same f32 as an f32 add would).
import { f16Table } from './half.ts';

type Dequant = (bytes: Uint8Array, nBlocks: number, out: Float32Array) => void;

export const dequantizeQ8_0: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 34, y += 32) {
    const d = t[b[o] | (b[o + 1] << 8)];
    for (let j = 0; j < 32; j++) out[y + j] = d * ((b[o + 2 + j] << 24) >> 24); // sign-extend int8
  }
};

export const dequantizeQ4_0: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 18, y += 32) {
    const d = t[b[o] | (b[o + 1] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      out[y + j] = d * ((q & 0x0f) - 8);
      out[y + j + 16] = d * ((q >> 4) - 8);
    }
  }
};

export const dequantizeQ4_1: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 20, y += 32) {
    const d = t[b[o] | (b[o + 1] << 8)];
    const m = t[b[o + 2] | (b[o + 3] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      out[y + j] = d * (q & 0x0f) + m;
      out[y + j + 16] = d * (q >> 4) + m;
    }
  }
};

export const dequantizeQ5_0: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 22, y += 32) {
    const d = t[b[o] | (b[o + 1] << 8)];
    const qh = b[o + 2] | (b[o + 3] << 8) | (b[o + 4] << 16) | (b[o + 5] << 24);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j];
      out[y + j] = d * ((q & 0x0f) + (((qh >>> j) & 1) << 4) - 16);
      out[y + j + 16] = d * ((q >> 4) + (((qh >>> (j + 16)) & 1) << 4) - 16);
    }
  }
};

export const dequantizeQ5_1: Dequant = (b, nBlocks, out) => {
  const t = f16Table();
  for (let blk = 0, o = 0, y = 0; blk < nBlocks; blk++, o += 24, y += 32) {
    const d = t[b[o] | (b[o + 1] << 8)];
    const m = t[b[o + 2] | (b[o + 3] << 8)];
    const qh = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j];
      out[y + j] = d * ((q & 0x0f) + (((qh >>> j) & 1) << 4)) + m;
      out[y + j + 16] = d * ((q >> 4) + (((qh >>> (j + 16)) & 1) << 4)) + m;
    }
  }
};
