// formats/q4_k: ggml block_q4_K, a super-block of 256 elements in 144 bytes:
//   f16 d (byte 0), f16 dmin (2), scales[12] (4), qs[128] (16).
// 8 sub-blocks of 32 elements, each with a 6-bit scale sc and a 6-bit min m packed into the 12 scale
// bytes (k_scale_min in common.wgsl). qs is 4 chunks of 32 bytes: chunk c holds sub-block 2c in its
// low nibbles and 2c + 1 in its high nibbles; element l of a sub-block is nibble l of its chunk.
//   y = (d * sc) * q - (dmin * m), as gguf-py computes it: d * sc, dmin * m and (d * sc) * q are exact
//   in f32 (11 + 6 + 4 bits), so the subtraction is the only rounding (an FMA gives the same).
// Unit: one sub-block (32 elements); 8 units per super-block. Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 256u) * 144u;
  let s = (k % 256u) / 32u;
  let l = k % 32u;
  let q = (w_u8(b + 16u + 32u * (s / 2u) + l) >> (4u * (s & 1u))) & 15u;
  let sm = k_scale_min(b + 4u, s);
  let dl = w_f16(b) * f32(sm.x);
  let ml = w_f16(b + 2u) * f32(sm.y);
  return dl * f32(q) - ml;
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + (u / 8u) * 144u;
  let s = u % 8u;
  let sm = k_scale_min(b + 4u, s);
  let dl = w_f16(b) * f32(sm.x);
  let ml = w_f16(b + 2u) * f32(sm.y);
  let qs = b + 16u + 32u * (s / 2u);
  let hi = (s & 1u) == 1u;
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 8u; j++) {
    out[j] = dl * vec4<f32>(nibbles4(w_u32(qs + 4u * j), hi)) - ml;
  }
  return out;
}
