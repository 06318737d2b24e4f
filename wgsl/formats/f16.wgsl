// formats/f16: IEEE binary16, two per u32 word, little-endian (GGUF type F16).
// Layout: element k of a row at bytes row_byte + 2k; a word holds elements 2i (low half), 2i+1 (high).
// Widened with unpack2x16float (exact, subnormals included): no shader-f16 needed.
// Unit: 8 elements = 4 words (16 bytes), so neighbouring invocations read neighbouring 16-byte runs.
// Assumes: row_byte % 4 == 0 (rows of even length). Interface: see common.wgsl.

const BLOCK_ELEMS: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;
const UNIT_ELEMS: u32 = 8u;
const UNIT_VEC4: u32 = 2u;

fn dequant(row_byte: u32, k: u32) -> f32 {
  return w_f16(row_byte + 2u * k);
}

fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> {
  let w = (row_byte >> 2u) + 4u * u;
  return array<vec4<f32>, UNIT_VEC4>(
    vec4<f32>(unpack2x16float(weights[w]), unpack2x16float(weights[w + 1u])),
    vec4<f32>(unpack2x16float(weights[w + 2u]), unpack2x16float(weights[w + 3u])),
  );
}
