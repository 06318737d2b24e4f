// gather_rows: out[r, :] = table[index[r] - ROW0, :] for the rows whose index lies in this table.
//
// Used for two things: the embedding lookup (table = embed_tokens [vocab, WIDTH], index = token
// ids) and picking the hidden-state rows whose logits are wanted (table = hidden states
// [rows, WIDTH], index = row numbers), so that the LM head only runs on those rows. An embedding
// larger than one storage binding is split by vocabulary rows (src/gpu/gpuWeights.ts): one
// dispatch per chunk, each with its ROW0 and TABLE_ROWS, writing only the rows it holds.
//
// Bindings: 0 dims (uniform, dims.rows = number of output rows), 1 table (f32, [TABLE_ROWS, WIDTH]),
//           2 index (u32, [rows]), 3 out (f32, [rows, WIDTH]).
// Workgroup: 64 invocations, one per output element; the grid is folded into x and y
//            (x * y * 64 >= rows * WIDTH) so that large batches stay under 65535 per dimension.
// Overrides: WIDTH; ROW0 (default 0) and TABLE_ROWS (default: unbounded, the whole table).
// Assumes: every index[r] is a valid row of the whole table (checked on the host).

struct Dims { rows: u32 }

override WIDTH: u32;
override ROW0: u32 = 0u;
override TABLE_ROWS: u32 = 0xffffffffu;

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
  let row = index[r] - ROW0; // wraps past TABLE_ROWS for ids below ROW0
  if (row >= TABLE_ROWS) { return; }
  out[i] = table[row * WIDTH + c];
}
