// formats/q5_k: ggml block_q5_K, a super-block of 256 elements in 176 bytes:
//   f16 d (byte 0), f16 dmin (2), scales[12] (4), qh[32] (16), qs[128] (48).
// As Q4_K (8 sub-blocks of 32 with 6-bit scales and mins, nibbles in 4 chunks of 32 bytes), plus a
// 5th bit: bit 4 of element l of sub-block s is bit s of qh[l].
//   y = (d * sc) * q - (dmin * m): every product exact in f32 (11 + 6 + 5 bits), one rounding.
// Unit: one sub-block (32 elements); 8 units per super-block. Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 256u) * 176u;
  let s = (k % 256u) / 32u;
  let l = k % 32u;
  let lo = (w_u8(b + 48u + 32u * (s / 2u) + l) >> (4u * (s & 1u))) & 15u;
  let q = lo | (((w_u8(b + 16u + l) >> s) & 1u) << 4u);
  let sm = k_scale_min(b + 4u, s);
  let dl = w_f16(b) * f32(sm.x);
  let ml = w_f16(b + 2u) * f32(sm.y);
  return dl * f32(q) - ml;
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + (u / 8u) * 176u;
  let s = u % 8u;
  let sm = k_scale_min(b + 4u, s);
  let dl = w_f16(b) * f32(sm.x);
  let ml = w_f16(b + 2u) * f32(sm.y);
  let qs = b + 48u + 32u * (s / 2u);
  let hi = (s & 1u) == 1u;
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 8u; j++) {
    let h = ((bytes4(w_u32(b + 16u + 4u * j)) >> vec4<u32>(s)) & vec4<u32>(1u)) << vec4<u32>(4u);
    out[j] = dl * vec4<f32>(nibbles4(w_u32(qs + 4u * j), hi) | h) - ml;
  }
  return out;
}
