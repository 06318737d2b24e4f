// paged_attention: causal attention of each query row over its sequence's paged KV cache.
//
// One kernel for a mixed batch: every row (a decode token or one token of a prefill chunk)
// carries its position p and the offset of its sequence's block table, and attends to
// positions 0..p of that sequence, reading K and V only through the block table. The chunk's
// own K and V were written into their slots by kv_write in an earlier dispatch, so a prefill
// row sees the paged history and the chunk's earlier tokens alike. Online softmax (running
// max m, running sum l, accumulator rescaled only when the max grows) makes one pass over the
// keys with one exp per key. GQA: query head h reads kv head h / (NUM_HEADS / NUM_KV_HEADS).
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 rows (vec4<u32>, [rows]: x = position,
//           y = offset of the sequence's block table in `tables`, z = slot, w = number of
//           keys the row attends to: cache entries 0..w-1 in block-table order), 2 tables (u32,
//           concatenated block tables), 3 qkv (vec4<f32>, [rows, QKV_STRIDE / 4], q rotated),
//           4 k_pool, 5 v_pool (vec4<f32>, [num_blocks, NUM_KV_HEADS, BLOCK_SIZE, HEAD_DIM / 4]),
//           6 out (vec4<f32>, [rows, NUM_HEADS * HEAD_DIM / 4]).
// Workgroup: 64 invocations, one per (row, query head), each walking its context serially;
//            no barriers (SwiftShader's weak spot). A long-context decode on a big GPU would
//            want the context split across invocations (flash-decoding); not done.
// Preamble: `const HEAD_DIM: u32` is prepended by the host, since private arrays need a
//           const size.
// Assumes: HEAD_DIM % 4 == 0; the block table covers cache entries 0..w-1;
//          NUM_HEADS % NUM_KV_HEADS == 0.

struct Dims { rows: u32 }

const HD4: u32 = HEAD_DIM / 4u;

override NUM_HEADS: u32;
override NUM_KV_HEADS: u32;
override BLOCK_SIZE: u32;
override SCALE: f32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> rows: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> tables: array<u32>;
@group(0) @binding(3) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k_pool: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_pool: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * NUM_HEADS) { return; }
  let row = i / NUM_HEADS;
  let h = i % NUM_HEADS;
  let kvh = h / (NUM_HEADS / NUM_KV_HEADS);
  let info = rows[row];
  let n = info.w; // position + 1 while nothing is evicted from the sequence's cache
  let table = info.y;

  var q: array<vec4<f32>, HD4>;
  var acc: array<vec4<f32>, HD4>;
  let q_base = row * (NUM_HEADS + 2u * NUM_KV_HEADS) * HD4 + h * HD4;
  for (var d = 0u; d < HD4; d++) {
    q[d] = qkv[q_base + d] * SCALE;
    acc[d] = vec4<f32>(0.0);
  }
  var m = -3.0e38; // below any score: the first key rescales an empty accumulator
  var l = 0.0;
  for (var start = 0u; start < n; start += BLOCK_SIZE) {
    let block = tables[table + start / BLOCK_SIZE];
    var kb = (block * NUM_KV_HEADS + kvh) * BLOCK_SIZE * HD4;
    let end = kb + min(BLOCK_SIZE, n - start) * HD4;
    for (; kb < end; kb += HD4) {
      var s = 0.0;
      for (var d = 0u; d < HD4; d++) { s += dot(q[d], k_pool[kb + d]); }
      var p = 1.0; // exp(s - m) once m has moved up to s
      if (s > m) {
        let corr = exp(m - s);
        l *= corr;
        for (var d = 0u; d < HD4; d++) { acc[d] *= corr; }
        m = s;
      } else {
        p = exp(s - m);
      }
      l += p;
      for (var d = 0u; d < HD4; d++) { acc[d] += p * v_pool[kb + d]; }
    }
  }
  let o_base = (row * NUM_HEADS + h) * HD4;
  let inv = 1.0 / l;
  for (var d = 0u; d < HD4; d++) { out[o_base + d] = acc[d] * inv; }
}
