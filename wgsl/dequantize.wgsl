// dequantize: widens a packed weight matrix W[ROWS, K], in any format, to f32.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/formatKernels.ts);
// the preamble supplies BLOCK_ELEMS, BLOCK_BYTES, UNIT_ELEMS, UNIT_VEC4, dequant, dequant_unit.
// Used by tests (the GPU's decode against the TypeScript reference, bit for bit) and wherever a
// packed tensor must become f32 on the device.
//
// Bindings: 0 weights (array<u32>: the packed bytes as in the GGUF file, rows back to back,
//             ROW_BYTES = K / BLOCK_ELEMS * BLOCK_BYTES each),
//           1 out (vec4<f32>, [ROWS, K / 4]).
// Workgroup: 64 invocations, one per unit (UNIT_ELEMS contiguous elements) of one row; dispatch
//            ceil(ROWS * K / UNIT_ELEMS / 64) workgroups, folded into (x, y): the linear workgroup id
//            is wg.y * num_workgroups.x + wg.x, and ids past the end do nothing.
// SINGLE: decode element by element through dequant() instead of dequant_unit() (both must agree).
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0 (checked on the host).

override K: u32;
override ROWS: u32;
override SINGLE: bool = false;
override ROW_BYTES: u32 = K / BLOCK_ELEMS * BLOCK_BYTES;

@group(0) @binding(0) var<storage, read> weights: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let units = K / UNIT_ELEMS;
  let id = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (id >= ROWS * units) { return; }
  let row = id / units;
  let u = id % units;
  let row_byte = row * ROW_BYTES;
  let o = row * (K / 4u) + u * UNIT_VEC4;
  if (SINGLE) {
    for (var j = 0u; j < UNIT_VEC4; j++) {
      let k = u * UNIT_ELEMS + 4u * j;
      out[o + j] = vec4<f32>(dequant(row_byte, k), dequant(row_byte, k + 1u), dequant(row_byte, k + 2u), dequant(row_byte, k + 3u));
    }
  } else {
    let v = dequant_unit(row_byte, u);
    for (var j = 0u; j < UNIT_VEC4; j++) {
      out[o + j] = v[j];
    }
  }
}
