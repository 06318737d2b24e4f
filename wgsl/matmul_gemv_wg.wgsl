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
  let ps = wg.z; // rows 8 ps .. 8 ps + 7 of x: one pass per layer of the grid
  // From the uniform row count, not from a tile (which the analysis sees as varying with lid).
  let mc = min(MAX_M, dims.rows - ps * MAX_M);
  if (LANES == 1u) {
    gemv_cpu(wgi, lid, ps, mc);
    return;
  }
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
fn x_cpu(m: u32, kx: u32, k4: u32, ss: ptr<function, f32>) -> vec4<f32> {
  var v = x_at(m, kx, k4);
  if (X_NORM) {
    *ss += dot(v, v);
    v *= norm_w[kx];
  }
  return v;
}

// The CPU adapters' shape (LANES == 1, split == 1): weight rows n0 .. n0 + ROWS - 1 of this
// invocation (up to 4 loaded; rows past ROWS or N are clamped and not stored) against the pass's
// mc rows of x, four at a time.
fn gemv_cpu(wgi: u32, lid: u32, ps: u32, mc: u32) {
  var t: Tile;
  t.n0 = ((wgi / params.split) * WG + lid) * ROWS;
  t.slice = 0u;
  t.m0 = ps * MAX_M;
  t.mc = mc;
  let n = params.n;
  if (t.n0 >= n) { return; }
  let k4 = params.k / 4u;
  let units = params.k / UNIT_ELEMS;
  let row_bytes = params.k / BLOCK_ELEMS * BLOCK_BYTES;
  let r0 = t.n0 * row_bytes;
  let r1 = min(t.n0 + 1u, n - 1u) * row_bytes;
  let r2 = min(t.n0 + 2u, n - 1u) * row_bytes;
  let r3 = min(t.n0 + 3u, n - 1u) * row_bytes;
  for (var s = 0u; s < mc; s += 4u) {
    let first = dims.first + t.m0 + s;
    let last = dims.first + t.m0 + mc - 1u;
    let m1 = min(first + 1u, last);
    let m2 = min(first + 2u, last);
    let m3 = min(first + 3u, last);
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
      let w1 = dequant_unit(select(r0, r1, ROWS > 1u), u);
      let w2 = dequant_unit(select(r0, r2, ROWS > 2u), u);
      let w3 = dequant_unit(select(r0, r3, ROWS > 3u), u);
      for (var j = 0u; j < UNIT_VEC4; j++) {
        let kx = u * UNIT_VEC4 + j;
        let a0 = x_cpu(first, kx, k4, &ss0);
        let a1 = x_cpu(m1, kx, k4, &ss1);
        let a2 = x_cpu(m2, kx, k4, &ss2);
        let a3 = x_cpu(m3, kx, k4, &ss3);
        let b0 = w0[j];
        let b1 = w1[j];
        let b2 = w2[j];
        let b3 = w3[j];
        acc0 += vec4<f32>(dot(b0, a0), dot(b1, a0), dot(b2, a0), dot(b3, a0));
        acc1 += vec4<f32>(dot(b0, a1), dot(b1, a1), dot(b2, a1), dot(b3, a1));
        acc2 += vec4<f32>(dot(b0, a2), dot(b1, a2), dot(b2, a2), dot(b3, a2));
        acc3 += vec4<f32>(dot(b0, a3), dot(b1, a3), dot(b2, a3), dot(b3, a3));
      }
    }
    let live = min(4u, mc - s);
    for (var r = 0u; r < ROWS; r++) {
      gemv_store(t, r * mc + s, acc0[r], ss0);
      if (live > 1u) { gemv_store(t, r * mc + s + 1u, acc1[r], ss1); }
      if (live > 2u) { gemv_store(t, r * mc + s + 2u, acc2[r], ss2); }
      if (live > 3u) { gemv_store(t, r * mc + s + 3u, acc3[r], ss3); }
    }
  }
}
