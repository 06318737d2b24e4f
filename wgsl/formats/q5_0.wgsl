// formats/q5_0: ggml block_q5_0, 32 elements in 22 bytes: f16 d, u32 qh (at byte 2, unaligned),
// qs[16].   y[j] = d * (q[j] - 16), q[j] = nibble | (bit j of qh) << 4
// Nibbles as Q4_0 (element j < 16: low nibble of qs[j]; j + 16: its high nibble). Exact in f32.
// Unit: one block (32 elements). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 32u) * 22u;
  let j = k % 32u;
  let lo = (w_u8(b + 6u + j % 16u) >> select(0u, 4u, j >= 16u)) & 15u;
  let q = lo | (((w_u32(b + 2u) >> j) & 1u) << 4u);
  return w_f16(b) * (f32(q) - 16.0);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + u * 22u;
  let d = w_f16(b);
  let qh = w_u32(b + 2u);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 4u; j++) {
    let qs = w_u32(b + 6u + 4u * j);
    out[j] = d * (vec4<f32>(nibbles4(qs, false) | (bits4(qh, 4u * j) << vec4<u32>(4u))) - 16.0);
    out[j + 4u] = d * (vec4<f32>(nibbles4(qs, true) | (bits4(qh, 16u + 4u * j) << vec4<u32>(4u))) - 16.0);
  }
  return out;
}
