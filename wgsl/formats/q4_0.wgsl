// formats/q4_0: ggml block_q4_0, 32 elements in 18 bytes: f16 d, qs[16].   y[j] = d * (q[j] - 8)
// Element j < 16 is the low nibble of qs[j], element j + 16 the high nibble of qs[j].
// d * (q - 8) is exact in f32. Blocks follow at 18-byte steps (odd blocks start mid-word).
// Unit: one block (32 elements). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 32u) * 18u;
  let j = k % 32u;
  let q = (w_u8(b + 2u + j % 16u) >> select(0u, 4u, j >= 16u)) & 15u;
  return w_f16(b) * (f32(q) - 8.0);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + u * 18u;
  let d = w_f16(b);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 4u; j++) {
    let qs = w_u32(b + 2u + 4u * j);
    out[j] = d * (vec4<f32>(nibbles4(qs, false)) - 8.0);
    out[j + 4u] = d * (vec4<f32>(nibbles4(qs, true)) - 8.0);
  }
  return out;
}
