// matmul_packed_gemm: y[m, Y_OFFSET + n] = sum_k x[m, k] * W[n, k]  (or += when ACCUMULATE), with W
// packed in any weight format: the prefill product, for steps of any number of rows M (read from a
// uniform), where matmul_packed (M fixed per pipeline, 1..8) does not apply.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/formatKernels.ts);
// the preamble supplies UNIT_ELEMS, UNIT_VEC4, BLOCK_ELEMS, BLOCK_BYTES and dequant_unit.
// Like wgsl/matmul.wgsl, each invocation owns a 4 x 4 register tile (4 rows of x, 4 weight rows)
// and walks K, here one unit at a time: it decodes that unit of its 4 weight rows into registers
// (f32, bit-exact with src/quant) and multiplies them with its 4 rows of x. No workgroup memory and
// no barriers (what SwiftShader is slowest at). Each weight is decoded once per tile row, ceil(M / 4)
// times: correctness first; a tuned prefill GEMM would stage decoded tiles in workgroup memory.
// f32 accumulation throughout.
//
// Bindings: 0 dims (uniform, dims.rows = M),
//           1 weights (array<u32>: N packed rows of ROW_BYTES = K / BLOCK_ELEMS * BLOCK_BYTES, the
//             GGUF file's bytes, [out, in] layout),
//           2 x (vec4<f32>, [M, K / 4]),
//           3 y (f32, [M, Y_STRIDE]; this product writes columns Y_OFFSET .. Y_OFFSET + N - 1).
// Workgroup: 64 invocations along n; dispatch (ceil(N / 256), ceil(M / 4)).
// Overrides: K, N, ACCUMULATE, Y_STRIDE (default N), Y_OFFSET (default 0).
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0 (checked on the host). Out-of-range rows and
//          columns are clamped for the loads and skipped for the stores.

struct Dims { rows: u32 }

override K: u32;
override N: u32;
override ACCUMULATE: bool = false;
override ROW_BYTES: u32 = K / BLOCK_ELEMS * BLOCK_BYTES;
override Y_STRIDE: u32 = N;
override Y_OFFSET: u32 = 0u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn store(m: u32, n0: u32, acc: vec4<f32>) {
  if (m >= dims.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    let n = n0 + c;
    if (n >= N) { return; }
    let i = m * Y_STRIDE + Y_OFFSET + n;
    if (ACCUMULATE) { y[i] += acc[c]; } else { y[i] = acc[c]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = (wg.x * 64u + lid) * 4u;
  let m0 = wg.y * 4u;
  if (n0 >= N || m0 >= dims.rows) { return; }
  let k4 = K / 4u;
  let last = dims.rows - 1u;
  var xr: array<u32, 4>;
  var wr: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    xr[i] = min(m0 + i, last) * k4;
    wr[i] = min(n0 + i, N - 1u) * ROW_BYTES;
  }
  var acc: array<vec4<f32>, 4>; // acc[i][c]: row m0 + i of x against weight row n0 + c
  for (var u = 0u; u < K / UNIT_ELEMS; u++) {
    let w0 = dequant_unit(wr[0], u);
    let w1 = dequant_unit(wr[1], u);
    let w2 = dequant_unit(wr[2], u);
    let w3 = dequant_unit(wr[3], u);
    for (var j = 0u; j < UNIT_VEC4; j++) {
      let kx = u * UNIT_VEC4 + j;
      for (var i = 0u; i < 4u; i++) {
        let a = x[xr[i] + kx];
        acc[i] += vec4<f32>(dot(a, w0[j]), dot(a, w1[j]), dot(a, w2[j]), dot(a, w3[j]));
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    store(m0 + i, n0, acc[i]);
  }
}
