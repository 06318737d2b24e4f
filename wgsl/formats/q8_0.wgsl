// formats/q8_0: ggml block_q8_0, 32 elements in 34 bytes: f16 d, int8 qs[32].   y[j] = d * qs[j]
// (exact in f32: an 11-bit significand times an 8-bit integer).
// Blocks follow one another at 34-byte steps, so half of them start at byte 2 of a word.
// Unit: one block (32 elements). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 32u) * 34u;
  let q = i32(w_u8(b + 2u + k % 32u) << 24u) >> 24u;
  return w_f16(b) * f32(q);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + u * 34u;
  let d = w_f16(b);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 8u; j++) {
    out[j] = d * vec4<f32>(sbytes4(w_u32(b + 2u + 4u * j)));
  }
  return out;
}
