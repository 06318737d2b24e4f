// kv_write: copies each row's k and v heads into its cache slot in this layer's pools.
//
// slot = block_id * BLOCK_SIZE + offset (vLLM's slot mapping, computed on the host from the
// sequence's block table); element d of kv head h lands at
//   pool[((block_id * NUM_KV_HEADS + h) * BLOCK_SIZE + offset) * HEAD_DIM + d].
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 rows (vec4<u32>, [rows]: x = position,
//           y = block-table offset, z = slot), 2 qkv (f32, [rows, QKV_STRIDE], after RoPE),
//           3 k_pool, 4 v_pool (f32, [num_blocks, NUM_KV_HEADS, BLOCK_SIZE, HEAD_DIM]).
// Workgroup: 64 invocations, one per (row, kv head, element); grid folded into x and y.
// Assumes: no two rows share a slot (checked on the host), slots lie inside the pools.

struct Dims { rows: u32 }

override NUM_HEADS: u32;
override NUM_KV_HEADS: u32;
override HEAD_DIM: u32;
override BLOCK_SIZE: u32;
override QKV_STRIDE: u32 = (NUM_HEADS + 2u * NUM_KV_HEADS) * HEAD_DIM;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> rows: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> k_pool: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_pool: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let kv_dim = NUM_KV_HEADS * HEAD_DIM;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * kv_dim) { return; }
  let row = i / kv_dim;
  let e = i % kv_dim; // h * HEAD_DIM + d
  let h = e / HEAD_DIM;
  let d = e % HEAD_DIM;
  let slot = rows[row].z;
  let block = slot / BLOCK_SIZE;
  let offset = slot % BLOCK_SIZE;
  let dst = ((block * NUM_KV_HEADS + h) * BLOCK_SIZE + offset) * HEAD_DIM + d;
  let src = row * QKV_STRIDE + NUM_HEADS * HEAD_DIM + e;
  k_pool[dst] = qkv[src];
  v_pool[dst] = qkv[src + kv_dim];
}
