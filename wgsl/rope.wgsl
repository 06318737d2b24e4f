// rope: rotate-half rotary embedding of the q and k heads of each row, in place.
//
// For pair j of a head (elements j and j + HEAD_DIM/2):
//   x0' = x0 * cos - x1 * sin,  x1' = x1 * cos + x0 * sin
// cos and sin come from a per-row table that the host computes in f64 from ropeInvFreq (so
// llama3 frequency scaling is exact and large positions lose no bits): WGSL's sin/cos are only
// specified to 2^-11 absolute on [-pi, pi], too coarse for a 1e-4 match with the reference.
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 table (f32, [rows, HEAD_DIM]: cos of the
//           HEAD_DIM/2 frequencies, then their sin), 2 qkv (f32, [rows, QKV_STRIDE]: q heads,
//           k heads, v heads; only q and k are touched).
// Workgroup: 64 invocations, one per (row, head, pair); grid folded into x and y.
// Assumes: HEAD_DIM even.

struct Dims { rows: u32 }

override NUM_HEADS: u32;
override NUM_KV_HEADS: u32;
override HEAD_DIM: u32;
override QKV_STRIDE: u32 = (NUM_HEADS + 2u * NUM_KV_HEADS) * HEAD_DIM;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half = HEAD_DIM / 2u;
  let heads = NUM_HEADS + NUM_KV_HEADS; // q heads then k heads, contiguous in a row
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * heads * half) { return; }
  let j = i % half;
  let t = i / half;
  let head = t % heads;
  let row = t / heads;
  let c = table[row * HEAD_DIM + j];
  let s = table[row * HEAD_DIM + half + j];
  let base = row * QKV_STRIDE + head * HEAD_DIM;
  let x0 = qkv[base + j];
  let x1 = qkv[base + j + half];
  qkv[base + j] = x0 * c - x1 * s;
  qkv[base + j + half] = x1 * c + x0 * s;
}
