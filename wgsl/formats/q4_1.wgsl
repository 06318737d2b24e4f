// formats/q4_1: ggml block_q4_1, 32 elements in 20 bytes: f16 d, f16 m, qs[16].   y[j] = d * q[j] + m
// Nibbles as Q4_0 (element j < 16: low nibble of qs[j]; j + 16: its high nibble).
// d * q is exact in f32; the add rounds once, as gguf-py's f32 add does (an FMA gives the same).
// Unit: one block (32 elements). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 32u) * 20u;
  let j = k % 32u;
  let q = (w_u8(b + 4u + j % 16u) >> select(0u, 4u, j >= 16u)) & 15u;
  return w_f16(b) * f32(q) + w_f16(b + 2u);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + u * 20u;
  let d = w_f16(b);
  let m = w_f16(b + 2u);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 4u; j++) {
    let qs = w_u32(b + 4u + 4u * j);
    out[j] = d * vec4<f32>(nibbles4(qs, false)) + m;
    out[j + 4u] = d * vec4<f32>(nibbles4(qs, true)) + m;
  }
  return out;
}
