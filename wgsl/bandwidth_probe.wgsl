// bandwidth_probe: streams a buffer once and keeps one sum per invocation, to measure the
// adapter's streaming read bandwidth (src/bench/roofline.ts: the roofline's denominator).
//
// Invocation i reads vec4s i, i + T, i + 2T, ... (T = all invocations of the dispatch), so each
// step of the grid reads one contiguous, coalesced span of the buffer. The sums are written so
// the reads cannot be optimised away; nobody reads them.
//
// Bindings: 0 dims (uniform, dims.n4 = vec4s in src), 1 src (vec4<f32>), 2 sums (f32, [T]).
// Workgroup: 256 invocations, a 1-D grid of at most 65535 workgroups.
// Assumes: nothing about the buffer's contents.

struct Dims { n4: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let total = nwg.x * 256u;
  var acc = vec4<f32>(0.0);
  for (var i = gid.x; i < dims.n4; i += total) { acc += src[i]; }
  sums[gid.x] = acc.x + acc.y + acc.z + acc.w;
}
