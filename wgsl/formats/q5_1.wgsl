// formats/q5_1: ggml block_q5_1, 32 elements in 24 bytes: f16 d, f16 m, u32 qh, qs[16].
//   y[j] = d * q[j] + m, q[j] = nibble | (bit j of qh) << 4
// Nibbles as Q4_0. d * q is exact in f32; the add rounds once, as in gguf-py.
// Unit: one block (32 elements). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 32u) * 24u;
  let j = k % 32u;
  let lo = (w_u8(b + 8u + j % 16u) >> select(0u, 4u, j >= 16u)) & 15u;
  let q = lo | (((w_u32(b + 4u) >> j) & 1u) << 4u);
  return w_f16(b) * f32(q) + w_f16(b + 2u);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + u * 24u;
  let d = w_f16(b);
  let m = w_f16(b + 2u);
  let qh = w_u32(b + 4u);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 4u; j++) {
    let qs = w_u32(b + 8u + 4u * j);
    out[j] = d * vec4<f32>(nibbles4(qs, false) | (bits4(qh, 4u * j) << vec4<u32>(4u))) + m;
    out[j + 4u] = d * vec4<f32>(nibbles4(qs, true) | (bits4(qh, 16u + 4u * j) << vec4<u32>(4u))) + m;
  }
  return out;
}
