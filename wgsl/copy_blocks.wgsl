// copy_blocks: copies whole KV blocks inside one pool buffer (the copy of copy-on-write).
//
// A block of a pool is NUM_KV_HEADS * BLOCK_SIZE * HEAD_DIM contiguous floats (the pool is
// [num_blocks, NUM_KV_HEADS, BLOCK_SIZE, HEAD_DIM]), so pair (src, dst) copies BLOCK_ELEMS
// floats from src * BLOCK_ELEMS to dst * BLOCK_ELEMS. The host dispatches it once per pool
// buffer (per layer, K and V).
//
// Bindings: 0 dims (uniform, dims.rows = number of pairs), 1 pairs (vec2<u32>, [pairs]: x = src,
//           y = dst), 2 pool (f32, read_write).
// Workgroup: 64 invocations, one per (pair, element); grid folded into x and y.
// Assumes: the pairs are a set (src/kv/copyPlan.ts, checked on the host): no dst is also a
//          src or a dst twice, since the copies of one dispatch run in no particular order.

struct Dims { rows: u32 }

override BLOCK_ELEMS: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> pool: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * BLOCK_ELEMS) { return; }
  let pair = pairs[i / BLOCK_ELEMS];
  let e = i % BLOCK_ELEMS;
  pool[pair.y * BLOCK_ELEMS + e] = pool[pair.x * BLOCK_ELEMS + e];
}
