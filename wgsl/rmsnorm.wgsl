// rmsnorm: y[r, :] = weight * (x[r, :] / sqrt(mean(x[r, :]^2) + EPS))
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 x (f32, [rows, HIDDEN]), 2 weight (f32, [HIDDEN]),
//           3 y (f32, [rows, HIDDEN]); x and y are distinct buffers.
// Workgroup: 64 invocations = 64 / ROW_LANES rows of ROW_LANES lanes each; dispatch
//            ceil(rows / (64 / ROW_LANES)) workgroups, folded into x and y. Each lane sums a
//            strided slice of squares; with ROW_LANES > 1 a tree reduction in workgroup memory
//            follows (log2(ROW_LANES) barriers). The host picks ROW_LANES = 1 on CPU adapters
//            (SwiftShader), where every barrier costs tens of microseconds per workgroup and a
//            lone thread per row is 20x faster, and 64 on GPUs, where one thread per row would
//            leave the machine idle during decode.
// Assumes: ROW_LANES is a power of two <= 64; nothing about HIDDEN.

struct Dims { rows: u32 }

override HIDDEN: u32;
override EPS: f32;
override ROW_LANES: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % ROW_LANES;
  let row = (wg.y * nwg.x + wg.x) * (64u / ROW_LANES) + lid / ROW_LANES;
  let live = row < dims.rows; // no early return: the barriers below need uniform control flow
  let base = row * HIDDEN;
  var ss = 0.0;
  if (live) {
    for (var i = lane; i < HIDDEN; i += ROW_LANES) {
      let v = x[base + i];
      ss += v * v;
    }
  }
  if (ROW_LANES > 1u) {
    partial[lid] = ss;
    workgroupBarrier();
    for (var s = ROW_LANES / 2u; s > 0u; s >>= 1u) {
      if (lane < s) { partial[lid] += partial[lid + s]; }
      workgroupBarrier();
    }
    ss = partial[lid - lane];
  }
  if (!live) { return; }
  let scale = 1.0 / sqrt(ss / f32(HIDDEN) + EPS);
  for (var i = lane; i < HIDDEN; i += ROW_LANES) {
    y[base + i] = weight[i] * (x[base + i] * scale);
  }
}
