// sample: ids[r] = one token drawn from logits row r (argmax at temperature 0), so that a
// sampled step reads back one u32 per sequence instead of a vocabulary of floats.
//
// The definition, shared exactly with src/sampling/sample.ts (sampleWithU), per row:
//   A row holding NaN or +-Inf anywhere: NON_FINITE (0xffffffff, no token id), whatever its
//          parameters, so that a step that reads back only ids still learns of it; the host
//          checks rows it reads whole itself (src/engine/StepSampler.ts).
//   T = 0: the argmax (ties to the lowest index).
//   T > 0: m = max logit; w_i = exp((l_i - m) / T) in f32 (a NaN weight counts as 0), so the
//          largest weight is 1; Z = sum w_i. The kept set is K = { i : bits(w_i) >= t }, where
//          bits() is the f32 bit pattern (monotone for weights >= 0) and t is the largest u32
//          such that  (top_k > 0 and count(bits(w) >= t) >= top_k)
//                  or (top_p < 1 and mass(bits(w) >= t) >= top_p * Z),
//          or 0 when neither holds anywhere (both disabled: K is every token). t is found by
//          bisection over [0, bits(1.0) + 1) in 30 steps, so it is exactly one weight's bits:
//          K is the smallest set of most-likely tokens reaching mass top_p, and the top_k most
//          likely, whichever is smaller; a tie at the threshold is kept whole. Then r = u *
//          mass(K), and the pick is the first i in K, in index order, whose running mass
//          exceeds r (the last token of K if rounding leaves none).
//   Z or mass(K) not > 0 (all weights NaN or 0): the argmax.
//
// Bindings: 0 dims (uniform, dims.rows = rows), 1 logits (f32, [rows, VOCAB]; overwritten in
//           place by the weights w of sampled rows), 2 params ([rows] of { temperature: f32,
//           top_k: u32, top_p: f32, u: f32 }, 16 bytes each), 3 ids (u32, [rows]).
// Workgroup: 64 invocations = 64 / ROW_LANES rows of ROW_LANES lanes each (as in rmsnorm.wgsl:
//            1 lane on CPU adapters, 64 on GPUs); dispatch ceil(rows / (64 / ROW_LANES))
//            workgroups, folded into x and y. Max, sum and each bisection step: a strided scan
//            per lane, then with ROW_LANES > 1 a tree reduction in workgroup memory. The pick:
//            each lane owns a contiguous slice of the row, the slices' masses are prefix-summed
//            in order, and the one lane whose slice holds r walks it.
// Assumes: ROW_LANES is a power of two <= 64; VOCAB >= 1; u in [0, 1); top_p in (0, 1].

struct Dims { rows: u32 }
struct RowParams { temperature: f32, top_k: u32, top_p: f32, u: f32 }

override VOCAB: u32;
override ROW_LANES: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<RowParams>;
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;

var<workgroup> red_f: array<f32, 64>;
var<workgroup> red_u: array<u32, 64>;

const NONE: u32 = 0xffffffffu;
const NON_FINITE: u32 = 0xffffffffu; // src/engine/ForwardBackend.ts NON_FINITE_ID
const EXP_BITS: u32 = 0x7f800000u; // |x| bits at or above these: Inf or NaN
const ONE_BITS: u32 = 0x3f800000u; // bits(1.0), the largest weight
const STEPS: u32 = 30u; // ceil(log2(ONE_BITS + 1))

// The row's largest value and its lowest index. Called in uniform control flow.
fn reduce_argmax(lid: u32, lane: u32, v_in: f32, i_in: u32) -> vec2<u32> {
  if (ROW_LANES == 1u) { return vec2<u32>(bitcast<u32>(v_in), i_in); }
  red_f[lid] = v_in;
  red_u[lid] = i_in;
  workgroupBarrier();
  for (var s = ROW_LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      let ov = red_f[lid + s];
      let oi = red_u[lid + s];
      if (ov > red_f[lid] || (ov == red_f[lid] && oi < red_u[lid])) {
        red_f[lid] = ov;
        red_u[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let out = vec2<u32>(bitcast<u32>(red_f[lid - lane]), red_u[lid - lane]);
  workgroupBarrier(); // every lane has read the result before the arrays are reused
  return out;
}

// The row's sum of f and of c (the same tree order on every lane). Called in uniform control flow.
fn reduce_sum(lid: u32, lane: u32, f: f32, c: u32) -> vec2<u32> {
  if (ROW_LANES == 1u) { return vec2<u32>(bitcast<u32>(f), c); }
  red_f[lid] = f;
  red_u[lid] = c;
  workgroupBarrier();
  for (var s = ROW_LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      red_f[lid] = red_f[lid] + red_f[lid + s];
      red_u[lid] = red_u[lid] + red_u[lid + s];
    }
    workgroupBarrier();
  }
  let out = vec2<u32>(bitcast<u32>(red_f[lid - lane]), red_u[lid - lane]);
  workgroupBarrier();
  return out;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % ROW_LANES;
  let row = (wg.y * nwg.x + wg.x) * (64u / ROW_LANES) + lid / ROW_LANES;
  let live = row < dims.rows; // no early return: the barriers below need uniform control flow
  let base = row * VOCAB;
  var prm = RowParams(0.0, 0u, 1.0, 0.0);
  if (live) { prm = params[row]; }
  let sampled = live && prm.temperature > 0.0;

  // 1. argmax and max, and a count of non-finite values (by their bits: a compiler may
  //    assume floats are finite, so x != x is no test).
  var v = -3.4e38;
  var idx = NONE;
  var bad = 0u;
  if (live) {
    for (var j = lane; j < VOCAB; j += ROW_LANES) {
      let x = logits[base + j];
      if ((bitcast<u32>(x) & 0x7fffffffu) >= EXP_BITS) { bad += 1u; }
      if (x > v) { v = x; idx = j; } // strictly greater: the lowest index keeps a tie
    }
  }
  let best = reduce_argmax(lid, lane, v, idx);
  let m = bitcast<f32>(best.x);
  let arg = select(best.y, 0u, best.y == NONE);

  // 2. weights in place, and their sum Z.
  var part = 0.0;
  if (sampled) {
    for (var j = lane; j < VOCAB; j += ROW_LANES) {
      var w = exp((logits[base + j] - m) / prm.temperature);
      if (!(w >= 0.0)) { w = 0.0; } // NaN
      logits[base + j] = w;
      part += w;
    }
  }
  let zs = reduce_sum(lid, lane, part, bad);
  let z = bitcast<f32>(zs.x);
  let non_finite = zs.y > 0u;

  // 3. the threshold t = lo, by bisection over weight bits (a fixed step count keeps the
  //    barriers uniform; a converged search stays put).
  let use_k = prm.top_k > 0u;
  let use_p = prm.top_p < 1.0;
  let search = sampled && (use_k || use_p);
  let want_mass = prm.top_p * z;
  var lo = 0u;
  var hi = ONE_BITS + 1u;
  for (var it = 0u; it < STEPS; it++) {
    let mid = lo + (hi - lo) / 2u;
    var mass = 0.0;
    var count = 0u;
    if (search) {
      for (var j = lane; j < VOCAB; j += ROW_LANES) {
        let w = logits[base + j];
        if (bitcast<u32>(w) >= mid) { mass += w; count += 1u; }
      }
    }
    let tot = reduce_sum(lid, lane, mass, count);
    let ok = (use_k && tot.y >= prm.top_k) || (use_p && bitcast<f32>(tot.x) >= want_mass);
    if (ok) { lo = mid; } else { hi = mid; }
  }

  // 4. the pick: inverse CDF over K in index order, one contiguous slice per lane.
  if (ROW_LANES > 1u) { storageBarrier(); } // step 2's weights, written by other lanes
  let slice = (VOCAB + ROW_LANES - 1u) / ROW_LANES;
  let start = min(lane * slice, VOCAB);
  let end = min(start + slice, VOCAB);
  var own = 0.0;
  if (sampled) {
    for (var j = start; j < end; j++) {
      let w = logits[base + j];
      if (bitcast<u32>(w) >= lo) { own += w; }
    }
  }
  if (ROW_LANES > 1u) {
    red_f[lid] = own;
    workgroupBarrier();
  }
  // Every lane forms the same prefix sums in the same order.
  var before = 0.0; // mass of the slices before this lane's
  var total = 0.0;
  var last_nz = NONE; // the last lane whose slice holds mass
  for (var l = 0u; l < ROW_LANES; l++) {
    var s = own;
    if (ROW_LANES > 1u) { s = red_f[lid - lane + l]; }
    if (l == lane) { before = total; }
    total += s;
    if (s > 0.0) { last_nz = l; }
  }
  let after = before + own;
  if (non_finite) {
    if (live && lane == 0u) { ids[row] = NON_FINITE; }
  } else if (sampled) {
    if (!(total > 0.0) || last_nz == NONE) {
      if (lane == 0u) { ids[row] = arg; }
    } else {
      let r = prm.u * total;
      if (own > 0.0 && before <= r && (r < after || lane == last_nz)) {
        var acc = before;
        var pick = NONE;
        var last_k = NONE;
        for (var j = start; j < end; j++) {
          let w = logits[base + j];
          if (bitcast<u32>(w) >= lo) {
            acc += w;
            last_k = j;
            if (acc > r) { pick = j; break; }
          }
        }
        ids[row] = select(pick, last_k, pick == NONE);
      }
    }
  } else if (live && lane == 0u) {
    ids[row] = arg;
  }
}
