// attention_partial: flash-decoding over the paged KV cache, the 'gpu' kernel set's attention.
//
// One workgroup per (work item, kv head). An item (planned on the host, src/gpu/attentionPlan.ts)
// is a run of keys [k0, k1) of one block table and up to Q_MAX query rows that attend to them:
// one decoding row, a group of a prefill chunk's rows, or the decoding rows that share those
// blocks (a shared prefix). The workgroup loads TILE keys' K and V at a time into workgroup
// memory, once, and every query head of every row of the item that maps to this kv head (GQA:
// GROUP heads per kv head) scores them from there, so K/V are read once per item, not once per
// query head or row. An invocation owns (row, head, vec4 of the head) slots and runs the online
// softmax for each in registers (the scores are recomputed by the HD4 invocations of a head:
// cheap next to the K/V traffic, and it leaves two barriers per tile, which SwiftShader pays
// tens of microseconds for). A key at or past the row's key count (rows.w) is skipped (causal,
// and items that run past a row's end). The result is
// a partial: (max m, sum l, accumulator acc) per (row, head), merged by attention_reduce.wgsl; a
// row whose keys fit one item (partial index DIRECT) writes acc / l to `out` itself.
//
// Bindings: 0 rows (vec4<u32>, [rows]: x position, y block-table offset, z slot, w number of keys:
//           cache entries 0..w-1 in block-table order), 1 tables (u32), 2 qkv (vec4<f32>, [rows,
//           QKV4], q rotated), 3 k_pool, 4 v_pool (vec4<f32>, [num_blocks, NUM_KV_HEADS, BLOCK_SIZE,
//           HD4]), 5 plan (u32: header [stats base, reduce offset, reduce rows, items], items of 8
//           words [table, k0, k1, query offset, query count, 0, 0, 0], queries [row, partial]),
//           6 partials (vec4<f32>: acc [partials, NUM_HEADS, HD4], then from the stats base
//           (m, l, 0, 0) [partials, NUM_HEADS]), 7 out (vec4<f32>, [rows, NUM_HEADS, HD4]).
// Workgroup: WG invocations (128 on GPUs); grid (items * NUM_KV_HEADS) folded into x and y. Two
//            barriers per tile, around the K/V load.
// Preamble (host): const HEAD_DIM, TILE, Q_MAX, GROUP (= NUM_HEADS / NUM_KV_HEADS), WG, since
//           workgroup and private arrays need const sizes, and WHOLE_HEAD.
// Slots: on GPUs (WHOLE_HEAD false) an invocation owns (row, head, vec4 of the head) slots, so the
//   HD4 invocations of a head each recompute its scores: free where the kernel waits on K/V loads,
//   and it spreads a decode step's few heads over many lanes. On CPU adapters (WHOLE_HEAD true,
//   src/gpu/attention.ts flashShape) an invocation owns whole (row, head) slots, all HD4 vec4s of
//   the accumulator: a CPU pays for every recomputed score and exp (16x at head_dim 64: it made
//   a 16-stream step ~8x slower than the fallback set's attention on SwiftShader). There WG >=
//   Q_MAX * GROUP, so an invocation owns at most one slot, and takes whole_head below: its query
//   (times SCALE) and accumulator in arrays indexed by the head's vec4 alone, as in
//   wgsl/paged_attention.wgsl (SwiftShader keeps arrays indexed by a loop of one trip, the general
//   path's slot loop, in memory: measured 2-3x slower on a GEMV).
// Assumes: HEAD_DIM % 4 == 0; each item's rows hold those keys' blocks at the same table
//          indices; every row has w >= 1; no subgroups or f16 needed.

const HD4: u32 = HEAD_DIM / 4u;
const QG_MAX: u32 = Q_MAX * GROUP;
// vec4s of the accumulator per slot, and slots per (row, head).
const SLOT_VEC4: u32 = select(1u, HD4, WHOLE_HEAD);
const SLOT_DIV: u32 = select(HD4, 1u, WHOLE_HEAD);
const ACC_N: u32 = (QG_MAX * SLOT_DIV + WG - 1u) / WG;
const MASKED: f32 = -3.0e38;
const DIRECT: u32 = 0xffffffffu;

override NUM_HEADS: u32;
override NUM_KV_HEADS: u32;
override BLOCK_SIZE: u32;
override SCALE: f32;
override QKV4: u32 = (NUM_HEADS + 2u * NUM_KV_HEADS) * HD4;

@group(0) @binding(0) var<storage, read> rows: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> tables: array<u32>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> k_pool: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v_pool: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> plan: array<u32>;
@group(0) @binding(6) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> k_tile: array<vec4<f32>, TILE * HD4>;
var<workgroup> v_tile: array<vec4<f32>, TILE * HD4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let id = wg.y * nwg.x + wg.x;
  let item = id / NUM_KV_HEADS;
  let kvh = id % NUM_KV_HEADS;
  if (item >= plan[3]) { return; }
  let ib = 4u + item * 8u;
  let table = plan[ib];
  let k0 = plan[ib + 1u];
  let k1 = plan[ib + 2u];
  let qoff = plan[ib + 3u];
  let slots = plan[ib + 4u] * GROUP * SLOT_DIV; // (row, head in group[, vec4 of the head])
  if (WHOLE_HEAD) {
    whole_head(lid, kvh, table, k0, k1, qoff, slots);
    return;
  }

  // Each invocation owns up to ACC_N slots e = lid + a * WG: its running max, sum and
  // accumulator stay in registers, so a tile needs only the barriers around its load.
  var acc: array<vec4<f32>, ACC_N * SLOT_VEC4>; // [a * SLOT_VEC4 + j]
  var run_m: array<f32, ACC_N>;
  var run_l: array<f32, ACC_N>;
  var keys: array<u32, ACC_N>;
  var q_base: array<u32, ACC_N>;
  for (var a = 0u; a < ACC_N * SLOT_VEC4; a++) { acc[a] = vec4<f32>(0.0); }
  for (var a = 0u; a < ACC_N; a++) {
    run_m[a] = MASKED;
    run_l[a] = 0.0;
    let e = lid + a * WG;
    if (e < slots) {
      let qg = e / SLOT_DIV;
      let row = plan[qoff + 2u * (qg / GROUP)];
      keys[a] = rows[row].w;
      q_base[a] = row * QKV4 + (kvh * GROUP + qg % GROUP) * HD4;
    }
  }

  for (var t0 = k0; t0 < k1; t0 += TILE) {
    let n = min(TILE, k1 - t0);
    workgroupBarrier(); // the previous tile is consumed
    load_tile(lid, kvh, table, t0, n);
    workgroupBarrier();
    for (var a = 0u; a < ACC_N; a++) {
      let e = lid + a * WG;
      if (e >= slots) { break; }
      let d = (e % SLOT_DIV) * SLOT_VEC4; // the slot's first vec4 of the head
      let live = min(n, select(0u, keys[a] - t0, keys[a] > t0)); // keys past the row's count are masked
      for (var kk = 0u; kk < live; kk++) {
        var dotp = 0.0;
        for (var j = 0u; j < HD4; j++) { dotp += dot(qkv[q_base[a] + j], k_tile[kk * HD4 + j]); }
        let s = dotp * SCALE;
        var p = 1.0; // exp(s - m) once m has moved up to s
        if (s > run_m[a]) {
          let c = exp(run_m[a] - s);
          run_l[a] *= c;
          for (var j = 0u; j < SLOT_VEC4; j++) { acc[a * SLOT_VEC4 + j] *= c; }
          run_m[a] = s;
        } else {
          p = exp(s - run_m[a]);
        }
        run_l[a] += p;
        for (var j = 0u; j < SLOT_VEC4; j++) { acc[a * SLOT_VEC4 + j] += p * v_tile[kk * HD4 + d + j]; }
      }
    }
  }

  for (var a = 0u; a < ACC_N; a++) {
    let e = lid + a * WG;
    if (e >= slots) { break; }
    let qg = e / SLOT_DIV;
    let d = (e % SLOT_DIV) * SLOT_VEC4;
    let h = kvh * GROUP + qg % GROUP;
    let row = plan[qoff + 2u * (qg / GROUP)];
    let part = plan[qoff + 2u * (qg / GROUP) + 1u];
    if (part == DIRECT) {
      for (var j = 0u; j < SLOT_VEC4; j++) { out[(row * NUM_HEADS + h) * HD4 + d + j] = acc[a * SLOT_VEC4 + j] * (1.0 / run_l[a]); }
    } else {
      for (var j = 0u; j < SLOT_VEC4; j++) { partials[(part * NUM_HEADS + h) * HD4 + d + j] = acc[a * SLOT_VEC4 + j]; }
      if (d == 0u) { partials[plan[0] + part * NUM_HEADS + h] = vec4<f32>(run_m[a], run_l[a], 0.0, 0.0); }
    }
  }
}

const_assert !WHOLE_HEAD || QG_MAX <= WG;

// K and V of keys t0 .. t0 + n - 1 of kv head kvh into the tiles (between the tile's two barriers).
fn load_tile(lid: u32, kvh: u32, table: u32, t0: u32, n: u32) {
  for (var e = lid; e < n * HD4; e += WG) {
    let key = t0 + e / HD4;
    let block = tables[table + key / BLOCK_SIZE];
    let src = ((block * NUM_KV_HEADS + kvh) * BLOCK_SIZE + key % BLOCK_SIZE) * HD4 + e % HD4;
    k_tile[e] = k_pool[src];
    v_tile[e] = v_pool[src];
  }
}

// The CPU adapters' item (WHOLE_HEAD): invocation lid < slots owns slot (row lid / GROUP, head
// lid % GROUP of the kv head), all of it; the others only help load the tiles.
fn whole_head(lid: u32, kvh: u32, table: u32, k0: u32, k1: u32, qoff: u32, slots: u32) {
  let mine = lid < slots;
  var q: array<vec4<f32>, HD4>;
  var acc: array<vec4<f32>, HD4>;
  var m = MASKED;
  var l = 0.0;
  var keys = 0u;
  let qi = qoff + 2u * (lid / GROUP); // this slot's [row, partial] in the query list
  let h = kvh * GROUP + lid % GROUP;
  if (mine) {
    let row = plan[qi];
    keys = rows[row].w;
    let qb = row * QKV4 + h * HD4;
    for (var d = 0u; d < HD4; d++) {
      q[d] = qkv[qb + d] * SCALE;
      acc[d] = vec4<f32>(0.0);
    }
  }
  for (var t0 = k0; t0 < k1; t0 += TILE) {
    let n = min(TILE, k1 - t0);
    workgroupBarrier(); // the previous tile is consumed
    load_tile(lid, kvh, table, t0, n);
    workgroupBarrier();
    let live = select(0u, min(n, keys - t0), keys > t0); // keys past the row's count are masked; 0 unless mine
    for (var kk = 0u; kk < live; kk++) {
      let kb = kk * HD4;
      var s = 0.0;
      for (var d = 0u; d < HD4; d++) { s += dot(q[d], k_tile[kb + d]); }
      var p = 1.0; // exp(s - m) once m has moved up to s
      if (s > m) {
        let c = exp(m - s);
        l *= c;
        for (var d = 0u; d < HD4; d++) { acc[d] *= c; }
        m = s;
      } else {
        p = exp(s - m);
      }
      l += p;
      for (var d = 0u; d < HD4; d++) { acc[d] += p * v_tile[kb + d]; }
    }
  }
  if (!mine) { return; }
  let row = plan[qi];
  let part = plan[qi + 1u];
  if (part == DIRECT) {
    let inv = 1.0 / l;
    for (var d = 0u; d < HD4; d++) { out[(row * NUM_HEADS + h) * HD4 + d] = acc[d] * inv; }
  } else {
    for (var d = 0u; d < HD4; d++) { partials[(part * NUM_HEADS + h) * HD4 + d] = acc[d]; }
    partials[plan[0] + part * NUM_HEADS + h] = vec4<f32>(m, l, 0.0, 0.0);
  }
}
