// matmul_splitk_reduce: y[m, y_offset + n] (+)= sum_s partial[s, m, n]: the second pass of a split-K
// decode product (wgsl/matmul_gemv.wgsl with split > 1), which wrote one partial sum per slice of K.
//
// Bindings: 0 dims (uniform: dims.rows = M rows of y from row dims.first on), 1 params (the GEMV's Params uniform, wgsl/product_params.wgsl, same buffer),
//           2 partial (f32, [split, M, N]), 3 y (f32, [M, y_stride]).
// Workgroup: 64 invocations, one per (m, n), n fastest (coalesced reads and writes); the grid is
//   folded into x and y (linear workgroup id wg.y * num_workgroups.x + wg.x; ids past the end return).
// No override constants: one pipeline serves every product.
// Sums run in slice order, so the result is deterministic.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let mn = dims.rows * n;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= mn) { return; }
  var s = 0.0;
  for (var k = 0u; k < params.split; k++) {
    s += partial[k * mn + i];
  }
  let o = (dims.first + i / n) * params.y_stride + params.y_offset + i % n;
  if (params.accumulate != 0u) { y[o] += s; } else { y[o] = s; }
}
