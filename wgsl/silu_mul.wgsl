// silu_mul: h[r, f] = silu(gate[r, f]) * up[r, f], silu(g) = g / (1 + exp(-g)).
//
// gate and up come from one fused matmul whose weights are gate_proj stacked on up_proj, so a
// row of `gate_up` is FFN gate values followed by FFN up values.
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 gate_up (f32, [rows, 2 * FFN]),
//           2 h (f32, [rows, FFN]).
// Workgroup: 64 invocations, one per output element; grid folded into x and y.
// Assumes: nothing about FFN.

struct Dims { rows: u32 }

override FFN: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> gate_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * FFN) { return; }
  let r = i / FFN;
  let f = i % FFN;
  let g = gate_up[r * 2u * FFN + f];
  let u = gate_up[r * 2u * FFN + FFN + f];
  h[i] = g / (1.0 + exp(-g)) * u;
}
