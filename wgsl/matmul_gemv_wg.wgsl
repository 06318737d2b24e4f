// matmul_gemv_wg: the entry point of wgsl/matmul_gemv.wgsl (see its header) that reduces through
// workgroup memory alone, for devices without the `subgroups` feature and for LANES < WG.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + matmul_gemv.wgsl + this file.
// LANES == 1 (CPU adapters): gemv_cpu below instead of gemv_tile: an invocation owns ROWS weight
//   rows over all of K and takes the pass's rows of x four at a time, each in a named vec4 (one
//   component per weight row, as in wgsl/matmul.wgsl): SwiftShader keeps those in registers, where
//   gemv_tile's indexed private array of 32 sums went through memory (2.4x slower measured at
//   K = 576, N = 3072). Same sums in the same order per output, whatever the row's place in the pass.
// Reduction: LANES == 1: none, each invocation stores its own sums. Else every
//   invocation writes its ROWS * M partial sums (and with X_NORM its M sums of squares) to `partials` as [slot][invocation] (neighbouring
//   invocations, neighbouring words: no bank conflicts); a log2(LANES)-step tree halves the live
//   lanes of each row group per step, one barrier each; lane i < ROWS * M of a group stores slot i.

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  if (!gemv_active(wgi)) { return; } // the whole workgroup: uniform
  let ps = wg.z; // rows 8 ps .. 8 ps + 7 of x (LANES == 1: 4 ps .. 4 ps + 3): one pass per layer of the grid
  if (LANES == 1u) {
    gemv_cpu(wgi, lid, ps);
    return;
  }
  // From the uniform row count, not from a tile (which the analysis sees as varying with lid).
  let mc = min(MAX_M, dims.rows - ps * MAX_M);
  let t = gemv_tile(wgi, lid, ps);
  let rm = ROWS * mc;
  let slots = gemv_slots(mc);
  for (var i = 0u; i < slots; i++) {
    partials[i * WG + lid] = gemv_slot(t, i);
  }
  workgroupBarrier();
  let lane = lid % LANES;
  for (var half = LANES / 2u; half > 0u; half /= 2u) {
    if (lane < half) {
      for (var i = 0u; i < slots; i++) {
        partials[i * WG + lid] += partials[i * WG + lid + half];
      }
    }
    workgroupBarrier();
  }
  let g0 = lid - lane;
  for (var i = lane; i < rm; i += LANES) {
    let ss = select(0.0, partials[(rm + i % t.mc) * WG + g0], X_NORM);
    gemv_store(t, i, partials[i * WG + g0], ss);
  }
}

// x row m at vec4 kx as the product reads it: silu(gate) * up with X_SILU; times norm_w with X_NORM
// (its squares, before the weight, added to *ss).
// Rows of x per pass (grid layer z) in the CPU shape: one register tile.
const CPU_PASS_ROWS: u32 = 4u;

// x row m at vec4 k as the product reads it: silu(gate) * up with X_SILU; times norm_w with X_NORM
// (its squares, before the weight, added to *ss).
fn x_cpu(m: u32, k: u32, k4: u32, ss: ptr<function, f32>) -> vec4<f32> {
  var v = x_at(m, k, k4);
  if (X_NORM) {
    *ss += dot(v, v);
    v *= norm_w[k];
  }
  return v;
}

// The CPU adapters' shape (LANES == 1, split == 1): weight rows n0 .. n0 + ROWS - 1 of this
// invocation (4 loaded; rows past ROWS or N are clamped and not stored) against the pass's up to
// 4 rows of x (rows past them clamped, not stored): one 4 x 4 register tile, as in matmul.wgsl.
// SwiftShader-specific choices, each measured at K = 576, N = 3072 against that kernel: the x rows
// take grid layers (a loop around the K loop ran 2.5x slower), and a unit of one vec4 (f32) takes
// no loop over its vec4s (a loop of one trip, indexing the decoded unit, ran 2-3x slower).
fn gemv_cpu(wgi: u32, lid: u32, ps: u32) {
  var t: Tile;
  t.n0 = ((wgi / params.split) * WG + lid) * ROWS;
  t.slice = 0u;
  t.m0 = ps * CPU_PASS_ROWS;
  t.mc = min(CPU_PASS_ROWS, dims.rows - t.m0);
  let n = params.n;
  if (t.n0 >= n) { return; }
  let k4 = params.k / 4u;
  let units = params.k / UNIT_ELEMS;
  let row_bytes = params.k / BLOCK_ELEMS * BLOCK_BYTES;
  let r0 = t.n0 * row_bytes;
  let r1 = select(r0, min(t.n0 + 1u, n - 1u) * row_bytes, ROWS > 1u);
  let r2 = select(r0, min(t.n0 + 2u, n - 1u) * row_bytes, ROWS > 2u);
  let r3 = select(r0, min(t.n0 + 3u, n - 1u) * row_bytes, ROWS > 3u);
  let m0 = dims.first + t.m0;
  let last = m0 + t.mc - 1u;
  let m1 = min(m0 + 1u, last);
  let m2 = min(m0 + 2u, last);
  let m3 = min(m0 + 3u, last);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var ss0 = 0.0;
  var ss1 = 0.0;
  var ss2 = 0.0;
  var ss3 = 0.0;
  for (var u = 0u; u < units; u++) {
    let w0 = dequant_unit(r0, u);
    let w1 = dequant_unit(r1, u);
    let w2 = dequant_unit(r2, u);
    let w3 = dequant_unit(r3, u);
    if (UNIT_VEC4 == 1u) {
      let a0 = x_cpu(m0, u, k4, &ss0);
      let a1 = x_cpu(m1, u, k4, &ss1);
      let a2 = x_cpu(m2, u, k4, &ss2);
      let a3 = x_cpu(m3, u, k4, &ss3);
      acc0 += vec4<f32>(dot(w0[0], a0), dot(w1[0], a0), dot(w2[0], a0), dot(w3[0], a0));
      acc1 += vec4<f32>(dot(w0[0], a1), dot(w1[0], a1), dot(w2[0], a1), dot(w3[0], a1));
      acc2 += vec4<f32>(dot(w0[0], a2), dot(w1[0], a2), dot(w2[0], a2), dot(w3[0], a2));
      acc3 += vec4<f32>(dot(w0[0], a3), dot(w1[0], a3), dot(w2[0], a3), dot(w3[0], a3));
    } else {
      for (var j = 0u; j < UNIT_VEC4; j++) {
        let k = u * UNIT_VEC4 + j;
        let a0 = x_cpu(m0, k, k4, &ss0);
        let a1 = x_cpu(m1, k, k4, &ss1);
        let a2 = x_cpu(m2, k, k4, &ss2);
        let a3 = x_cpu(m3, k, k4, &ss3);
        acc0 += vec4<f32>(dot(w0[j], a0), dot(w1[j], a0), dot(w2[j], a0), dot(w3[j], a0));
        acc1 += vec4<f32>(dot(w0[j], a1), dot(w1[j], a1), dot(w2[j], a1), dot(w3[j], a1));
        acc2 += vec4<f32>(dot(w0[j], a2), dot(w1[j], a2), dot(w2[j], a2), dot(w3[j], a2));
        acc3 += vec4<f32>(dot(w0[j], a3), dot(w1[j], a3), dot(w2[j], a3), dot(w3[j], a3));
      }
    }
  }
  let mc = t.mc;
  for (var r = 0u; r < ROWS; r++) {
    gemv_store(t, r * mc, acc0[r], ss0);
    if (mc > 1u) { gemv_store(t, r * mc + 1u, acc1[r], ss1); }
    if (mc > 2u) { gemv_store(t, r * mc + 2u, acc2[r], ss2); }
    if (mc > 3u) { gemv_store(t, r * mc + 3u, acc3[r], ss3); }
  }
}
