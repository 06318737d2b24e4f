// formats/common: byte access to a packed weight buffer, shared by every wgsl/formats/<format>.wgsl.
//
// Composition (src/gpu/formatKernels.ts): common.wgsl + <format>.wgsl + the kernel. The kernel
// declares the weight binding under the name `weights`:
//     @group(0) @binding(i) var<storage, read> weights: array<u32>;
// holding the tensor's bytes exactly as in the GGUF file (ggml's block layout, little-endian),
// word w = bytes 4w..4w+3. Blocks need not start on a word: Q4_0's are 18 bytes, so block 1 starts
// at byte 18. Every offset here is a byte offset into that buffer.
//
// Every format defines the same interface (see each file's header):
//   const BLOCK_ELEMS: u32   elements per block (1 for f32/f16/bf16, 32, or 256 for K-quants)
//   const BLOCK_BYTES: u32   bytes per block
//   const UNIT_ELEMS: u32    elements dequant_unit decodes at once: a contiguous run, a multiple of 4,
//                            dividing BLOCK_ELEMS (or a multiple of it for the plain float formats)
//   const UNIT_VEC4: u32     UNIT_ELEMS / 4
//   fn dequant(row_byte: u32, k: u32) -> f32
//       element k of the row whose first block starts at byte row_byte
//   fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4>
//       elements u*UNIT_ELEMS .. u*UNIT_ELEMS + UNIT_ELEMS - 1 of that row, in order
// Both give bit-identical f32 values, equal to gguf-py's (f32 arithmetic from the f16 scales, in the
// order gguf-py uses; every product of a scale and a quant is exact in f32 except Q6_K's, which is
// rounded once, as gguf-py rounds it). No shader-f16: f16 scales are read with unpack2x16float.
// Assumes: row_byte is even (every ggml block size is even, so every block and every 16-bit field
// starts on an even byte).

// Byte `byte` (0..255).
fn w_u8(byte: u32) -> u32 {
  return (weights[byte >> 2u] >> ((byte & 3u) << 3u)) & 0xffu;
}

// The little-endian u16 at an even byte offset (never straddles a word).
fn w_u16(byte: u32) -> u32 {
  return (weights[byte >> 2u] >> ((byte & 2u) << 3u)) & 0xffffu;
}

// The f16 at an even byte offset, as f32 (exact, subnormals included).
fn w_f16(byte: u32) -> f32 {
  return unpack2x16float(w_u16(byte)).x;
}

// Bytes byte..byte+3 as a little-endian u32, at any alignment (two word loads when unaligned).
fn w_u32(byte: u32) -> u32 {
  let i = byte >> 2u;
  let s = (byte & 3u) << 3u;
  let hi = select(weights[i + 1u] << (32u - s), 0u, s == 0u);
  return (weights[i] >> s) | hi;
}

// The four bytes of a word, as unsigned values.
fn bytes4(w: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

// The four bytes of a word, as signed (int8) values.
fn sbytes4(w: u32) -> vec4<i32> {
  return (vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
}

// Low (hi == false) or high nibbles of the four bytes of a word.
fn nibbles4(w: u32, hi: bool) -> vec4<u32> {
  return (vec4<u32>(w >> select(0u, 4u, hi)) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu);
}

// Bits s, s+1, s+2, s+3 of x, each as 0 or 1.
fn bits4(x: u32, s: u32) -> vec4<u32> {
  return (vec4<u32>(x >> s) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
}

// Q4_K / Q5_K: the 6-bit scale (x) and min (y) of sub-block j (0..7) from the 12 scale bytes at
// byte s (ggml's get_scale_min_k4): j < 4: sc = s[j] & 63, m = s[j+4] & 63; j >= 4:
// sc = (s[j+4] & 15) | ((s[j-4] >> 6) << 4), m = (s[j+4] >> 4) | ((s[j] >> 6) << 4).
fn k_scale_min(s: u32, j: u32) -> vec2<u32> {
  if (j < 4u) {
    return vec2<u32>(w_u8(s + j) & 63u, w_u8(s + j + 4u) & 63u);
  }
  let b = w_u8(s + j + 4u);
  return vec2<u32>((b & 15u) | ((w_u8(s + j - 4u) >> 6u) << 4u), (b >> 4u) | ((w_u8(s + j) >> 6u) << 4u));
}
