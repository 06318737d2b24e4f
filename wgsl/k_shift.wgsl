// k_shift: context shift. Re-rotates the cached keys of whole blocks to new positions, in place
// (llama.cpp's K-shift): RoPE rotations compose, so rotating a key rotated for position p by
// delta gives the key for p + delta. Values are untouched (RoPE only touches q and k).
//
// For pair j of a key head (elements j and j + HEAD_DIM/2), rotate-half convention as rope.wgsl:
//   x0' = x0 * cos - x1 * sin,  x1' = x1 * cos + x0 * sin
// with cos and sin of delta * inv_freq[j], computed on the host in f64 (one row per shifted block).
//
// Bindings: 0 dims (uniform, dims.rows = shifted blocks), 1 blocks (u32, [rows]: block ids, each
//           at most once), 2 table (f32, [rows, HEAD_DIM]: the HEAD_DIM/2 cosines, then the
//           sines), 3 pool (f32, read_write: one layer's K pool, [num_blocks, NUM_KV_HEADS,
//           BLOCK_SIZE, HEAD_DIM]).
// Workgroup: 64 invocations, one per (block, kv head, token, pair); grid folded into x and y.
//            The host dispatches it once per layer's K pool.
// Assumes: HEAD_DIM even; block ids inside the pool (checked on the host).

struct Dims { rows: u32 }

override NUM_KV_HEADS: u32;
override HEAD_DIM: u32;
override BLOCK_SIZE: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> blocks: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> pool: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half = HEAD_DIM / 2u;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * NUM_KV_HEADS * BLOCK_SIZE * half) { return; }
  let j = i % half;
  let t = i / half; // (row, head, token) flattened, token fastest
  let head_token = t % (NUM_KV_HEADS * BLOCK_SIZE);
  let row = t / (NUM_KV_HEADS * BLOCK_SIZE);
  let base = (blocks[row] * NUM_KV_HEADS * BLOCK_SIZE + head_token) * HEAD_DIM;
  let c = table[row * HEAD_DIM + j];
  let s = table[row * HEAD_DIM + half + j];
  let x0 = pool[base + j];
  let x1 = pool[base + j + half];
  pool[base + j] = x0 * c - x1 * s;
  pool[base + j + half] = x1 * c + x0 * s;
}
