// rope_kv_write: RoPE and the KV write in one pass (the 'gpu' kernel set): rotates each row's
// q heads in place, rotates its k heads and writes them, with its v heads, straight into the
// row's cache slot, so q|k|v is read once and k is never written back to it.
//
// Rotation as wgsl/rope.wgsl (rotate-half, cos/sin from the host's f64 table, identical
// arithmetic, so both kernel sets store bit-identical K); slot mapping as wgsl/kv_write.wgsl:
// element d of kv head h of slot s lands at
//   pool[((s / BLOCK_SIZE * NUM_KV_HEADS + h) * BLOCK_SIZE + s % BLOCK_SIZE) * HEAD_DIM + d].
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 rows (vec4<u32>, [rows]: z = slot),
//           2 table (f32, [rows, HEAD_DIM]: cos of the HEAD_DIM/2 frequencies, then their sin),
//           3 qkv (f32, [rows, QKV_STRIDE]; q heads rotated in place, k and v only read),
//           4 k_pool, 5 v_pool (f32, [num_blocks, NUM_KV_HEADS, BLOCK_SIZE, HEAD_DIM]).
// Workgroup: 64 invocations, one per (row, head of q|k|v, pair j and j + HEAD_DIM/2); grid folded.
// Assumes: HEAD_DIM even; no two rows share a slot (checked on the host).

struct Dims { rows: u32 }

override NUM_HEADS: u32;
override NUM_KV_HEADS: u32;
override HEAD_DIM: u32;
override BLOCK_SIZE: u32;
override QKV_STRIDE: u32 = (NUM_HEADS + 2u * NUM_KV_HEADS) * HEAD_DIM;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> rows: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_pool: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_pool: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half = HEAD_DIM / 2u;
  let heads = NUM_HEADS + 2u * NUM_KV_HEADS;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * heads * half) { return; }
  let j = i % half;
  let t = i / half;
  let head = t % heads;
  let row = t / heads;
  let base = row * QKV_STRIDE + head * HEAD_DIM;
  var x0 = qkv[base + j];
  var x1 = qkv[base + j + half];
  if (head < NUM_HEADS + NUM_KV_HEADS) {
    let c = table[row * HEAD_DIM + j];
    let s = table[row * HEAD_DIM + half + j];
    let y0 = x0 * c - x1 * s;
    x1 = x1 * c + x0 * s;
    x0 = y0;
  }
  if (head < NUM_HEADS) {
    qkv[base + j] = x0;
    qkv[base + j + half] = x1;
    return;
  }
  let h = (head - NUM_HEADS) % NUM_KV_HEADS;
  let slot = rows[row].z;
  let dst = ((slot / BLOCK_SIZE * NUM_KV_HEADS + h) * BLOCK_SIZE + slot % BLOCK_SIZE) * HEAD_DIM;
  if (head < NUM_HEADS + NUM_KV_HEADS) {
    k_pool[dst + j] = x0;
    k_pool[dst + j + half] = x1;
  } else {
    v_pool[dst + j] = x0;
    v_pool[dst + j + half] = x1;
  }
}
