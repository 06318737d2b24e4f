// argmax: ids[r] = the index of the largest logit of row r (greedy decoding on the GPU, so a
// step reads back one u32 per sequence instead of a vocabulary of floats).
//
// Ties go to the lowest index, like a first-max scan on the host; NaNs never win; a row with
// no finite maximum gives 0.
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 logits (f32, [rows, VOCAB]), 2 ids (u32, [rows]).
// Workgroup: 64 invocations = 64 / ROW_LANES rows of ROW_LANES lanes each (as in rmsnorm.wgsl:
//            1 lane on CPU adapters, 64 on GPUs); dispatch ceil(rows / (64 / ROW_LANES))
//            workgroups, folded into x and y. A strided scan per lane, then with
//            ROW_LANES > 1 a tree reduction in workgroup memory.
// Assumes: ROW_LANES is a power of two <= 64; VOCAB >= 1.

struct Dims { rows: u32 }

override VOCAB: u32;
override ROW_LANES: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;

var<workgroup> best_v: array<f32, 64>;
var<workgroup> best_i: array<u32, 64>;

const NONE: u32 = 0xffffffffu;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % ROW_LANES;
  let row = (wg.y * nwg.x + wg.x) * (64u / ROW_LANES) + lid / ROW_LANES;
  let live = row < dims.rows; // no early return: the barriers below need uniform control flow
  var v = -3.4e38;
  var idx = NONE;
  if (live) {
    let base = row * VOCAB;
    for (var j = lane; j < VOCAB; j += ROW_LANES) {
      let x = logits[base + j];
      if (x > v) { v = x; idx = j; } // strictly greater: the lowest index keeps a tie
    }
  }
  if (ROW_LANES > 1u) {
    best_v[lid] = v;
    best_i[lid] = idx;
    workgroupBarrier();
    for (var s = ROW_LANES / 2u; s > 0u; s >>= 1u) {
      if (lane < s) {
        let ov = best_v[lid + s];
        let oi = best_i[lid + s];
        if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) {
          best_v[lid] = ov;
          best_i[lid] = oi;
        }
      }
      workgroupBarrier();
    }
    idx = best_i[lid];
  }
  if (live && lane == 0u) { ids[row] = select(idx, 0u, idx == NONE); }
}
