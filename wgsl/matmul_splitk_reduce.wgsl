// matmul_splitk_reduce: y[m, Y_OFFSET + n] (+)= sum_s partial[s, m, n]: the second pass of a split-K
// decode product (wgsl/matmul_gemv.wgsl with SPLIT > 1), which wrote one partial sum per slice of K.
//
// Bindings: 0 partial (f32, [SPLIT, M, N]), 1 y (f32, [M, Y_STRIDE]).
// Workgroup: 64 invocations, one per (m, n), n fastest (coalesced reads and writes); the grid is
//   folded into x and y (linear workgroup id wg.y * num_workgroups.x + wg.x; ids past the end return).
// Overrides: N, M, SPLIT, ACCUMULATE, Y_STRIDE (default N), Y_OFFSET (default 0).
// Sums run in slice order, so the result is deterministic.

override N: u32;
override M: u32;
override SPLIT: u32;
override ACCUMULATE: bool = false;
override Y_STRIDE: u32 = N;
override Y_OFFSET: u32 = 0u;

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= M * N) { return; }
  var s = 0.0;
  for (var k = 0u; k < SPLIT; k++) {
    s += partial[k * M * N + i];
  }
  let o = (i / N) * Y_STRIDE + Y_OFFSET + i % N;
  if (ACCUMULATE) { y[o] += s; } else { y[o] = s; }
}
