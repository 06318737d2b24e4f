// matmul_gemv_wg: the entry point of wgsl/matmul_gemv.wgsl (see its header) that reduces through
// workgroup memory alone, for devices without the `subgroups` feature and for LANES < WG.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + matmul_gemv.wgsl + this file.
// Reduction: LANES == 1 (CPU adapters): none, each invocation stores its own sums. Else every
//   invocation writes its ROWS * M partial sums (and with X_NORM its M sums of squares) to `partials` as [slot][invocation] (neighbouring
//   invocations, neighbouring words: no bank conflicts); a log2(LANES)-step tree halves the live
//   lanes of each row group per step, one barrier each; lane i < ROWS * M of a group stores slot i.

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  if (!gemv_active(wgi)) { return; } // the whole workgroup: uniform
  let ps = wg.z; // rows 8 ps .. 8 ps + 7 of x: one pass per layer of the grid
  let t = gemv_tile(wgi, lid, ps);
  // From the uniform row count, not from t (which the analysis sees as varying with lid).
  let mc = min(MAX_M, dims.rows - ps * MAX_M);
  let rm = ROWS * mc;
  if (LANES == 1u) {
    for (var i = 0u; i < rm; i++) {
      gemv_store(t, i, acc[(i / t.mc) * MAX_M + i % t.mc], ssq[i % t.mc]);
    }
    return;
  }
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
