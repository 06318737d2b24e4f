// matmul_gemv_sg: the entry point of wgsl/matmul_gemv.wgsl (see its header) that reduces through
// subgroup operations, for devices with the `subgroups` feature; only with LANES == WG (the real-GPU
// plan: one row group per workgroup), so a subgroup never spans two row groups.
//
// Composition: `enable subgroups;` + formats/common.wgsl + formats/<format>.wgsl + matmul_gemv.wgsl
//   + this file (the enable directive must open the module: src/gpu/gemv.ts puts it there).
// Reduction: subgroupAdd of each of the ROWS * M partial sums (and with X_NORM the M sums of squares); each subgroup's first invocation
//   writes its sums to `partials` [slot][subgroup]; one barrier; invocation i < ROWS * M adds slot
//   i over the WG / subgroup_size subgroups. Assumes subgroups cover consecutive ranges of
//   local_invocation_index (true of 1-D workgroups on the Vulkan, Metal and D3D12 drivers), and any
//   subgroup size from 4 (at most 16 subgroups) up; one larger than WG holds the whole workgroup.
// Checked here only on SwiftShader (whose subgroups are 4 wide) and by the kernel test; no real
//   GPU has run it in this repository.

const MAX_SUBGROUPS: u32 = 16u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  if (!gemv_active(wgi)) { return; } // the whole workgroup: uniform
  let sg = lid / sg_size;
  let ps = wg.z; // rows 8 ps .. 8 ps + 7 of x: one pass per layer of the grid
  let t = gemv_tile(wgi, lid, ps);
  // From the uniform row count, not from t (which the analysis sees as varying with lid).
  let mc = min(MAX_M, dims.rows - ps * MAX_M);
  let rm = ROWS * mc;
  let slots = gemv_slots(mc);
  for (var i = 0u; i < slots; i++) {
    let s = subgroupAdd(gemv_slot(t, i));
    if (sg_lane == 0u) { partials[i * MAX_SUBGROUPS + sg] = s; }
  }
  workgroupBarrier();
  if (lid < rm) {
    let groups = (WG + sg_size - 1u) / sg_size;
    var s = 0.0;
    var ss = 0.0;
    for (var g = 0u; g < groups; g++) {
      s += partials[lid * MAX_SUBGROUPS + g];
      if (X_NORM) { ss += partials[(rm + lid % t.mc) * MAX_SUBGROUPS + g]; }
    }
    gemv_store(t, lid, s, ss);
  }
}
