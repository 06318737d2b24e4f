// matmul_gemv_wg: the entry point of wgsl/matmul_gemv.wgsl (see its header) that reduces through
// workgroup memory alone, for devices without the `subgroups` feature.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + matmul_gemv.wgsl + this file.
// Reduction: every invocation writes its ROWS * M partial sums to `partials` as [slot][invocation]
//   (neighbouring invocations, neighbouring words: no bank conflicts); a 6-step tree halves the live
//   invocations per step, one barrier each; invocation i < ROWS * M stores slot i.

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  if (!gemv_active(wgi)) { return; } // the whole workgroup: uniform
  let t = gemv_tile(wgi, lid);
  let rm = ROWS * M;
  for (var r = 0u; r < ROWS; r++) {
    for (var m = 0u; m < M; m++) {
      partials[(r * M + m) * WG + lid] = acc[r * MAX_M + m];
    }
  }
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      for (var i = 0u; i < rm; i++) {
        partials[i * WG + lid] += partials[i * WG + lid + half];
      }
    }
    workgroupBarrier();
  }
  if (lid < rm) { gemv_store(t, lid, partials[lid * WG]); }
}
