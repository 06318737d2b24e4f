// matmul_packed: y[m, n] = sum_k x[m, k] * W[n, k]  (or y[m, n] += that when ACCUMULATE), with W
// packed in any weight format: a decode GEMV (M = 1..8 rows of x) that reads every weight once.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/formatKernels.ts);
// the preamble supplies UNIT_ELEMS, UNIT_VEC4, BLOCK_ELEMS, BLOCK_BYTES and dequant_unit, which
// decodes UNIT_ELEMS contiguous weights (one 32-element block or K-quant sub-block; 4 or 8 plain
// floats) into registers. Dequantization happens there, in f32; accumulation is f32 throughout.
//
// Bindings: 0 weights (array<u32>: W's bytes as in the GGUF file, N rows of ROW_BYTES =
//             K / BLOCK_ELEMS * BLOCK_BYTES back to back, i.e. the [out, in] layout),
//           1 x (vec4<f32>, [M, K / 4]),
//           2 y (f32, [M, Y_STRIDE]; this product writes columns Y_OFFSET .. Y_OFFSET + N - 1).
// Workgroup: 64 invocations = 64 / LANES lane groups of LANES invocations. A lane group owns ROWS
//   consecutive output rows (all M columns of them); its lanes stride along K one unit at a time,
//   so neighbouring invocations decode neighbouring units of the same weight rows (coalesced reads:
//   a warp walks a contiguous stretch of each row). Each lane keeps ROWS * M partial sums in
//   registers, reusing every x vector it loads for its ROWS rows. One barrier, then a reduction
//   through workgroup memory (no subgroups needed): lane i of a group sums partial i over its LANES
//   lanes (conflict-free: neighbouring lanes read neighbouring words).
//   Dispatch: ceil(N / (64 / LANES * ROWS)) workgroups, folded into (x, y) (linear id
//   wg.y * num_workgroups.x + wg.x; workgroups past the end return).
// x is read from storage, not staged: at M = 8 and K = 8192 it is 256 KiB, far over the 16 KiB of
//   workgroup storage WebGPU guarantees; every workgroup reads the same x, so it stays in L1/L2.
// Overrides: K, N; M (1..8); ROWS (1..4); LANES (a power of two up to 64; the host picks it so that
//   K / UNIT_ELEMS units keep the lanes busy); ACCUMULATE; Y_STRIDE (default N) and Y_OFFSET
//   (default 0), so that products of one input whose weights differ in format (q|k in Q4_K, v in
//   Q6_K) write their columns of one stacked output.
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0 (checked on the host), so no unit straddles
//   a row; rows start on even bytes.

const WG: u32 = 64u;
const MAX_M: u32 = 8u;
const MAX_ROWS: u32 = 4u;

override K: u32;
override N: u32;
override M: u32;
override ROWS: u32 = 2u;
override LANES: u32 = 64u;
override ACCUMULATE: bool = false;
override ROW_BYTES: u32 = K / BLOCK_ELEMS * BLOCK_BYTES;
override Y_STRIDE: u32 = N;
override Y_OFFSET: u32 = 0u;

@group(0) @binding(0) var<storage, read> weights: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partials: array<f32, WG * ROWS * M>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let groups = WG / LANES;
  let wgi = wg.y * nwg.x + wg.x;
  if (wgi * groups * ROWS >= N) { return; } // the whole workgroup: uniform
  let group = lid / LANES;
  let lane = lid % LANES;
  let n0 = (wgi * groups + group) * ROWS;
  let units = K / UNIT_ELEMS;
  let k4 = K / 4u;

  var row_byte: array<u32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    row_byte[r] = min(n0 + r, N - 1u) * ROW_BYTES; // rows past N are read (clamped) but not stored
  }
  var acc: array<f32, MAX_ROWS * MAX_M>; // [r * MAX_M + m]
  for (var u = lane; u < units; u += LANES) {
    var w: array<array<vec4<f32>, UNIT_VEC4>, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      w[r] = dequant_unit(row_byte[r], u);
    }
    for (var j = 0u; j < UNIT_VEC4; j++) {
      let kx = u * UNIT_VEC4 + j;
      for (var m = 0u; m < M; m++) {
        let xv = x[m * k4 + kx];
        for (var r = 0u; r < ROWS; r++) {
          acc[r * MAX_M + m] += dot(w[r][j], xv);
        }
      }
    }
  }

  let rm = ROWS * M;
  for (var r = 0u; r < ROWS; r++) {
    for (var m = 0u; m < M; m++) {
      partials[lid * rm + r * M + m] = acc[r * MAX_M + m];
    }
  }
  workgroupBarrier();
  for (var i = lane; i < rm; i += LANES) {
    var s = 0.0;
    for (var t = 0u; t < LANES; t++) {
      s += partials[(group * LANES + t) * rm + i];
    }
    let n = n0 + i / M;
    if (n < N) {
      let o = (i % M) * Y_STRIDE + Y_OFFSET + n;
      if (ACCUMULATE) { y[o] += s; } else { y[o] = s; }
    }
  }
}
