// gather_rows: out[r, :] = table[index[r], :]
//
// Used for two things: the embedding lookup (table = embed_tokens [vocab, WIDTH], index = token
// ids) and picking the hidden-state rows whose logits are wanted (table = hidden states
// [rows, WIDTH], index = row numbers), so that the LM head only runs on those rows.
//
// Bindings: 0 dims (uniform, dims.rows = number of output rows), 1 table (f32, [*, WIDTH]),
//           2 index (u32, [rows]), 3 out (f32, [rows, WIDTH]).
// Workgroup: 64 invocations, one per output element; the grid is folded into x and y
//            (x * y * 64 >= rows * WIDTH) so that large batches stay under 65535 per dimension.
// Assumes: every index[r] is a valid row of `table` (checked on the host).

struct Dims { rows: u32 }

override WIDTH: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= dims.rows * WIDTH) { return; }
  let r = i / WIDTH;
  let c = i % WIDTH;
  out[i] = table[index[r] * WIDTH + c];
}
