// embed_packed: out[r, c] = E[index[r], c] with the embedding E [vocab, WIDTH] packed in any weight
// format: the embedding lookup that reads the packed rows (the f32 one is gather_rows.wgsl).
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/formatKernels.ts);
// the preamble supplies BLOCK_ELEMS, BLOCK_BYTES and dequant (one element, f32, bit-exact with
// src/quant), so any row length that is a whole number of blocks works. An embedding larger than
// one storage binding is split by vocabulary rows (src/gpu/gpuWeights.ts): one dispatch per chunk,
// each with its ROW0 and TABLE_ROWS, writing only the rows it holds.
//
// Bindings: 0 dims (uniform, dims.rows = number of output rows),
//           1 weights (array<u32>: rows ROW0 .. ROW0 + TABLE_ROWS - 1 of E, bytes as in the GGUF
//             file, ROW_BYTES per row),
//           2 index (u32, [rows]: token ids), 3 out (f32, [rows, WIDTH]).
// Workgroup: 64 invocations, one per output element; the grid is folded into x and y (linear
//            workgroup id wg.y * num_workgroups.x + wg.x; ids past the end return).
// Overrides: WIDTH; ROW0 (default 0) and TABLE_ROWS (default: unbounded, the whole table).
// Assumes: every index[r] < vocab (checked on the host); WIDTH % BLOCK_ELEMS == 0.

struct Dims { rows: u32 }

override WIDTH: u32;
override ROW_BYTES: u32 = WIDTH / BLOCK_ELEMS * BLOCK_BYTES;
override ROW0: u32 = 0u;
override TABLE_ROWS: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * WIDTH) { return; }
  let row = index[i / WIDTH] - ROW0; // wraps past TABLE_ROWS for ids below ROW0
  if (row >= TABLE_ROWS) { return; }
  out[i] = dequant(row * ROW_BYTES, i % WIDTH);
}
