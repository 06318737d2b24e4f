// formats/f32: plain little-endian f32, one element per "block" (GGUF type F32).
// Layout: element k of a row at bytes row_byte + 4k.
// Unit: 4 elements (one vec4 = 16 bytes), so neighbouring invocations read neighbouring 16-byte runs.
// Assumes: row_byte % 4 == 0 (true for every row of an f32 tensor). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 1u;
const BLOCK_BYTES: u32 = 4u;
const UNIT_ELEMS: u32 = 4u;
const UNIT_VEC4: u32 = 1u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  return bitcast<f32>(weights[(row_byte >> 2u) + k]);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let w = (row_byte >> 2u) + 4u * u;
  return array<vec4<f32>, UNIT_VEC4>(bitcast<vec4<f32>>(vec4<u32>(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u])));
}
