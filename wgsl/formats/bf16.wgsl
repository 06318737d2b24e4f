// formats/bf16: bfloat16 (the top 16 bits of an f32), two per u32 word, little-endian (GGUF BF16).
// Layout: element k of a row at bytes row_byte + 2k; a word holds elements 2i (low half), 2i+1 (high).
// Widening is a shift: exact for every pattern, no float arithmetic.
// Unit: 8 elements = 4 words (16 bytes), so neighbouring invocations read neighbouring 16-byte runs.
// Assumes: row_byte % 4 == 0 (rows of even length). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;
const UNIT_ELEMS: u32 = 8u;
const UNIT_VEC4: u32 = 2u;

fn bf16_pair(w: u32) -> vec2<f32> {
  return bitcast<vec2<f32>>(vec2<u32>(w << 16u, w & 0xffff0000u));
}

fn dequant(row_byte: u32, k: u32) -> f32 {
  return bitcast<f32>(w_u16(row_byte + 2u * k) << 16u);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let w = (row_byte >> 2u) + 4u * u;
  return array<vec4<f32>, UNIT_VEC4>(
    vec4<f32>(bf16_pair(weights[w]), bf16_pair(weights[w + 1u])),
    vec4<f32>(bf16_pair(weights[w + 2u]), bf16_pair(weights[w + 3u])),
  );
}
