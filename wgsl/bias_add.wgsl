// bias_add: y[m, n] += bias[n] for every row m < dims.rows: the q|k|v biases (Qwen2) after a packed
// product, which has no bias of its own (matmul_packed keeps to the product).
//
// Bindings: 0 dims (uniform, dims.rows = M), 1 bias (f32, [N]), 2 y (f32, [M, N]).
// Workgroup: 64 invocations, one per element of y; the grid is folded into x and y (linear
//            workgroup id wg.y * num_workgroups.x + wg.x; ids past the end return).

struct Dims { rows: u32 }

override N: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * N) { return; }
  y[i] += bias[i % N];
}
