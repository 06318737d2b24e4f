// formats/q6_k: ggml block_q6_K, a super-block of 256 elements in 210 bytes:
//   ql[128] (byte 0), qh[64] (128), int8 scales[16] (192), f16 d (208: d comes last).
// 16 sub-blocks of 16 elements, each with an int8 scale. Two halves of 128 elements; in half h,
// element 32t + i (t = 0..3, i = 0..31) takes its low 4 bits from ql[64h + 32(t & 1) + i] (low
// nibble for t < 2, high for t >= 2) and its top 2 bits from bits 2t..2t+1 of qh[32h + i]; its scale
// is scales[8h + 2t + i / 16].
//   y = (d * scale) * (q - 32), as gguf-py: d * scale is exact in f32, the second product (up to 25
//   bits) is rounded once.
// Blocks follow at 210-byte steps, so most start mid-word.
// Unit: 32 elements (one t of one half); 8 units per super-block. Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;
const UNIT_ELEMS: u32 = 32u;
const UNIT_VEC4: u32 = 8u;

fn q6k_scale(b: u32, s: u32) -> f32 {
  let sc = i32(w_u8(b + 192u + s) << 24u) >> 24u;
  return w_f16(b + 208u) * f32(sc);
}

fn dequant(row_byte: u32, k: u32) -> f32 {
  let b = row_byte + (k / 256u) * 210u;
  let r = k % 256u;
  let h = r / 128u;
  let t = (r % 128u) / 32u;
  let i = r % 32u;
  let lo = (w_u8(b + 64u * h + 32u * (t & 1u) + i) >> select(0u, 4u, t >= 2u)) & 15u;
  let q = lo | (((w_u8(b + 128u + 32u * h + i) >> (2u * t)) & 3u) << 4u);
  return q6k_scale(b, 8u * h + 2u * t + i / 16u) * (f32(q) - 32.0);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let b = row_byte + (u / 8u) * 210u;
  let h = (u % 8u) / 4u;
  let t = u % 4u;
  let ql = b + 64u * h + 32u * (t & 1u);
  let qh = b + 128u + 32u * h;
  let hi = t >= 2u;
  let d0 = q6k_scale(b, 8u * h + 2u * t);
  let d1 = q6k_scale(b, 8u * h + 2u * t + 1u);
  var out: array<vec4<f32>, UNIT_VEC4>;
  for (var j = 0u; j < 8u; j++) {
    let top = ((bytes4(w_u32(qh + 4u * j)) >> vec4<u32>(2u * t)) & vec4<u32>(3u)) << vec4<u32>(4u);
    let q = vec4<f32>(nibbles4(w_u32(ql + 4u * j), hi) | top) - 32.0;
    out[j] = select(d0, d1, j >= 4u) * q;
  }
  return out;
}
