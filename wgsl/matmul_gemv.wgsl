// matmul_gemv: y[m, n] = sum_k x[m, k] * W[n, k]  (or y[m, n] += that when ACCUMULATE), the decode
// product (M = 1..8 rows of x) of the 'gpu' kernel set, for every weight format: f32 and f16 rows
// go through the same preamble path (formats/f32.wgsl, formats/f16.wgsl) as the block formats.
//
// Composition (src/gpu/gemv.ts): formats/common.wgsl + formats/<format>.wgsl + this file + an
// entry point that reduces: wgsl/matmul_gemv_wg.wgsl (workgroup memory), or, where the device has
// the `subgroups` feature, `enable subgroups;` + the same + wgsl/matmul_gemv_sg.wgsl. This file
// holds what both share: the bindings and gemv_tile, each invocation's partial sums. dequant_unit
// decodes UNIT_ELEMS contiguous weights (one 32-element block or K-quant sub-block; 4 f32 or 8 f16
// values) into registers, in f32.
//
// Bindings: 0 weights (array<u32>: N packed rows of ROW_BYTES, the [out, in] layout),
//           1 x (vec4<f32>, [M, K / 4]),
//           2 out: SPLIT == 1: y (f32, [M, Y_STRIDE], columns Y_OFFSET .. Y_OFFSET + N - 1);
//                  SPLIT > 1: partial sums (f32, [SPLIT, M, N]) that wgsl/matmul_splitk_reduce.wgsl
//                  adds up into y.
// Workgroup: WG = 64 invocations (two NVIDIA warps, one AMD wave, whole subgroups of every size
//   WebGPU allows) own ROWS (1..4) consecutive weight rows, all M columns of them, over one of
//   SPLIT slices of K. Dispatch: ceil(N / ROWS) * SPLIT workgroups, folded into (x, y); workgroup
//   id = row block * SPLIT + slice.
// Coalescing: invocation i decodes unit u0 + i, then u0 + i + 64, ...: at each step the 64
//   invocations read 64 neighbouring units of the same row, one contiguous stretch of 64 * UNIT
//   bytes (1 KiB of f32, 1152 bytes of Q4_0), so every cache line fetched is used whole. x is read
//   as vec4s at the same k by every row of the workgroup (ROWS reuses per load) and by every
//   workgroup: at most 8 * K floats, it stays in L1/L2.
// Occupancy: the host picks ROWS and SPLIT so that the grid has at least ~512 workgroups where
//   the shape allows (4 per SM on a 132-SM GPU, more on smaller ones): ROWS shrinks first, then K
//   is split, but never below 64 units per slice. A row of fewer than 64 units (Q4_0 at K = 576:
//   18) leaves invocations idle: a limit of this shape, which a sub-unit split would lift.
//   Registers: ROWS * M <= 32 accumulators plus one decoded unit (up to 8 vec4) per row: ~160
//   live floats at ROWS = 4 with 32-element units, which caps occupancy on the widest plans.
// Reduction: with subgroups (matmul_gemv_sg.wgsl): subgroupAdd per accumulator, each subgroup's
//   first invocation writes its sum to workgroup memory, one barrier, then ROWS * M invocations add
//   the WG / subgroup_size sums (assumes subgroups cover consecutive local_invocation_index ranges,
//   as they do for 1-D workgroups on Vulkan, Metal and D3D12 drivers). Without
//   (matmul_gemv_wg.wgsl): all 64 partials to workgroup memory as [slot][invocation] (neighbours,
//   neighbouring words: no bank conflicts) and a 6-step tree with a barrier per step. Both use at
//   most 8 KiB of workgroup memory.
// Overrides: K, N, M (1..8), ROWS (1..4), SPLIT (>= 1), ACCUMULATE, Y_STRIDE (default N), Y_OFFSET.
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0 (checked on the host).

const WG: u32 = 64u;
const MAX_M: u32 = 8u;
const MAX_ROWS: u32 = 4u;

override K: u32;
override N: u32;
override M: u32;
override ROWS: u32 = 1u;
override SPLIT: u32 = 1u;
override ACCUMULATE: bool = false;
override ROW_BYTES: u32 = K / BLOCK_ELEMS * BLOCK_BYTES;
override Y_STRIDE: u32 = N;
override Y_OFFSET: u32 = 0u;

@group(0) @binding(0) var<storage, read> weights: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Sized by overrides, and the sums kept in a private array rather than returned in a struct:
// SwiftShader compiles this kernel ~10x faster so.
var<workgroup> partials: array<f32, ROWS * M * WG>;

// Each invocation's partial sums [r * MAX_M + m].
var<private> acc: array<f32, MAX_ROWS * MAX_M>;

// Which rows and which slice of K workgroup `wgi` computes.
struct Tile {
  n0: u32,
  slice: u32,
}

// Whether workgroup `wgi` has rows to compute (uniform: the entry returns before any barrier).
fn gemv_active(wgi: u32) -> bool {
  return (wgi / SPLIT) * ROWS < N;
}

// Fills `acc` with this invocation's partial sums.
fn gemv_tile(wgi: u32, lid: u32) -> Tile {
  var t: Tile;
  t.n0 = (wgi / SPLIT) * ROWS;
  t.slice = wgi % SPLIT;
  let units = K / UNIT_ELEMS;
  let per = (units + SPLIT - 1u) / SPLIT;
  let u_end = min(units, (t.slice + 1u) * per);
  let k4 = K / 4u;
  var row_byte: array<u32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    row_byte[r] = min(t.n0 + r, N - 1u) * ROW_BYTES; // rows past N are read (clamped) but not stored
  }
  for (var u = t.slice * per + lid; u < u_end; u += WG) {
    var w: array<array<vec4<f32>, UNIT_VEC4>, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      w[r] = dequant_unit(row_byte[r], u);
    }
    for (var j = 0u; j < UNIT_VEC4; j++) {
      let kx = u * UNIT_VEC4 + j;
      for (var m = 0u; m < M; m++) {
        let xv = x[m * k4 + kx];
        for (var r = 0u; r < ROWS; r++) {
          acc[r * MAX_M + m] += dot(w[r][j], xv);
        }
      }
    }
  }
  return t;
}

// Slot i = r * M + m of the tile's rows, summed over the workgroup: to y, or to its slice of the partial sums.
fn gemv_store(t: Tile, i: u32, s: f32) {
  let n = t.n0 + i / M;
  if (n >= N) { return; }
  let m = i % M;
  if (SPLIT > 1u) {
    out[(t.slice * M + m) * N + n] = s;
  } else {
    let o = m * Y_STRIDE + Y_OFFSET + n;
    if (ACCUMULATE) { out[o] += s; } else { out[o] = s; }
  }
}
