// block_scores: PagedEviction's importance of whole KV blocks, one layer per dispatch.
//
// For each listed block, adds over its kv heads and tokens ||V|| / ||K|| (L2 norms of one
// head's value and key; a key's norm is the same before and after RoPE) to scores[row]; the
// host zeroes scores, dispatches once per layer, and divides by layers * heads * tokens.
//
// Bindings: 0 dims (uniform, dims.rows = blocks), 1 blocks (u32, [rows]: block ids),
//           2 k (f32, read: one layer's K pool, [num_blocks, NUM_KV_HEADS, BLOCK_SIZE, HEAD_DIM]),
//           3 v (f32, read: the same layer's V pool), 4 scores (f32, [rows], read_write).
// Workgroup: 64 invocations, one per block (a block is NUM_KV_HEADS * BLOCK_SIZE short rows;
//            few blocks fill per step, so the loop is short and no reduction is needed).
// Assumes: block ids inside the pool (checked on the host).

struct Dims { rows: u32 }

override NUM_KV_HEADS: u32;
override HEAD_DIM: u32;
override BLOCK_SIZE: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> blocks: array<u32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (row >= dims.rows) { return; }
  let rows_per_block = NUM_KV_HEADS * BLOCK_SIZE;
  var sum = 0.0;
  for (var r = 0u; r < rows_per_block; r++) {
    let base = (blocks[row] * rows_per_block + r) * HEAD_DIM;
    var kk = 0.0;
    var vv = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) {
      let kd = k[base + d];
      let vd = v[base + d];
      kk += kd * kd;
      vv += vd * vd;
    }
    sum += sqrt(vv) / max(sqrt(kk), 1e-12);
  }
  scores[row] += sum;
}
