// matmul_gemv: y[m, n] = sum_k x[m, k] * W[n, k]  (or y[m, n] += that when accumulating), the decode
// product (M = 1..8 rows of x) of the 'gpu' kernel set, for every weight format: f32 and f16 rows
// go through the same preamble path (formats/f32.wgsl, formats/f16.wgsl) as the block formats.
//
// Composition (src/gpu/gemv.ts): formats/common.wgsl + formats/<format>.wgsl + this file + an
// entry point that reduces: wgsl/matmul_gemv_wg.wgsl (workgroup memory), or, where the device has
// the `subgroups` feature and LANES == WG, `enable subgroups;` + the same + wgsl/matmul_gemv_sg.wgsl.
// This file holds what both share: the bindings and gemv_tile, each invocation's partial sums.
// dequant_unit decodes UNIT_ELEMS contiguous weights (one 32-element block or K-quant sub-block;
// 4 f32 or 8 f16 values) into registers, in f32.
//
// Bindings: 0 dims (uniform: dims.rows = M rows of x and y from row dims.first on (0 but where a step
//             splits its rows between this GEMV and the tiled GEMM: src/gpu/linearSteps.ts); rows are
//             taken 8 at a time (the accumulators hold 8), one pass per layer z of the grid: GPUs
//             run M <= 8 here (one pass) and larger M in wgsl/matmul_tiled.wgsl; CPU adapters run
//             every M here, each pass re-reading the weights, which costs a CPU little),
//           1 params (uniform Params, wgsl/product_params.wgsl: this product's shape, one small buffer per weight
//             part, written once; so one pipeline serves every part and every M),
//           2 weights (array<u32>: N packed rows of K / BLOCK_ELEMS * BLOCK_BYTES, [out, in]),
//           3 x (vec4<f32>, [M, K / 4]; with X_SILU the gate|up rows [M, 2K / 4], and the product
//             reads silu(gate) * up: SwiGLU fused into the down projection's input),
//           4 out: split == 1: y (f32, [first + M, y_stride], columns y_offset .. y_offset + N - 1);
//                  split > 1: partial sums (f32, [split, M, N], rows counted from first) that wgsl/matmul_splitk_reduce.wgsl
//                  adds up into y,
//           5 norm_w (vec4<f32>, [K / 4]): with X_NORM the RMSNorm weight: the product is then
//             rmsnorm(x) · W^T = inv_rms(x) * sum_k W[n, k] * x[k] * norm_w[k], the norm fused into
//             its consumer (the q|k|v and gate|up products); inv_rms = 1 / sqrt(mean(x^2) + eps) as
//             wgsl/rmsnorm.wgsl computes it. The sum of squares is taken from the x values the
//             invocations load anyway (split == 1: together they read every x once), or, with K
//             split, by a strided pass over the whole row in every workgroup (x is in L1/L2: M * K
//             floats against ROWS * K weights), and reduced with the partial sums (M more slots).
//             Unused (any small buffer) without X_NORM.
// Workgroup: WG = 64 invocations (two NVIDIA warps, one AMD wave, whole subgroups of every size
//   WebGPU allows) = WG / LANES row groups of LANES invocations; a row group owns ROWS (1..4)
//   consecutive weight rows, all M columns of them, over one of `split` slices of K. Dispatch:
//   ceil(N / (ROWS * WG / LANES)) * split workgroups, folded into (x, y); workgroup id =
//   row block * split + slice; z = ceil(M / 8) passes of 8 rows of x.
// Real GPUs (LANES = 64, src/gpu/gemv.ts planGemv): one row group per workgroup.
//   Coalescing: invocation i decodes unit u0 + i, then u0 + i + 64, ...: at each step the 64
//   invocations read 64 neighbouring units of the same row, one contiguous stretch of 64 * UNIT
//   bytes (1 KiB of f32, 1152 bytes of Q4_0), so every cache line fetched is used whole. x is read
//   as vec4s at the same k by every row of the workgroup (ROWS reuses per load) and by every
//   workgroup: at most 8 * K floats, it stays in L1/L2.
//   Occupancy: the host picks ROWS and split so that the grid has at least ~512 workgroups where
//   the shape allows (4 per SM on a 132-SM GPU, more on smaller ones): ROWS shrinks first, then K
//   is split, but never below 64 units per slice. A row of fewer than 64 units (Q4_0 at K = 576:
//   18) leaves invocations idle: a limit of this shape, which a sub-unit split would lift.
//   Registers: ROWS * M <= 32 accumulators plus one decoded unit (up to 8 vec4) per row: ~160
//   live floats at ROWS = 4 with 32-element units, which caps occupancy on the widest plans.
//   The shape lives in a uniform, not in override constants: the loop bounds are then runtime
//   values, which costs a GPU nothing measurable in a loop bound by memory (one scalar load per
//   workgroup, uniform branches), and saves one pipeline per weight part and row count.
// CPU adapters (LANES = 1, planGemvFor with cpuAdapter): each invocation owns ROWS rows over all
//   of K and needs no reduction: SwiftShader runs a workgroup's invocations on one CPU thread, four
//   to a SIMD register, and every barrier switches all 64 of them; this shape has none. It has
//   code of its own, gemv_cpu in wgsl/matmul_gemv_wg.wgsl (a 4 x 4 register tile, 4 rows of x per
//   pass: z = ceil(M / 4) there), not gemv_tile.
// Reduction: with subgroups (matmul_gemv_sg.wgsl): subgroupAdd per accumulator, each subgroup's
//   first invocation writes its sum to workgroup memory, one barrier, then ROWS * M invocations add
//   the WG / subgroup_size sums (assumes subgroups cover consecutive local_invocation_index ranges,
//   as they do for 1-D workgroups on Vulkan, Metal and D3D12 drivers). Without
//   (matmul_gemv_wg.wgsl): all partials to workgroup memory as [slot][invocation] (neighbours,
//   neighbouring words: no bank conflicts) and a log2(LANES)-step tree with a barrier per step.
//   At most ROWS * 8 * 64 floats (8 KiB) of workgroup memory.
// Overrides (the shape class): ROWS (1..4), LANES (a power of two up to WG), X_SILU, X_NORM,
//   PARTIAL_SLOTS (workgroup memory; the host sets 1 when LANES == 1, which leaves it unused).
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0 (checked on the host).

const WG: u32 = 64u;
const MAX_M: u32 = 8u;
const MAX_ROWS: u32 = 4u;

override ROWS: u32 = 1u;
override LANES: u32 = 64u;
override X_SILU: bool = false;
override X_NORM: bool = false;
override PARTIAL_SLOTS: u32 = (ROWS + 1u) * MAX_M * WG;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> norm_w: array<vec4<f32>>;

var<workgroup> partials: array<f32, PARTIAL_SLOTS>;

// Each invocation's partial sums [r * MAX_M + m] (a private array: SwiftShader compiles this
// kernel ~10x faster than with the sums returned in a struct).
var<private> acc: array<f32, MAX_ROWS * MAX_M>;
// With X_NORM: each invocation's part of the sum of squares of x's rows.
var<private> ssq: array<f32, MAX_M>;

// Which rows and which slice of K a row group computes, for rows m0 .. m0 + mc - 1 of x.
struct Tile {
  n0: u32,
  slice: u32,
  m0: u32,
  mc: u32,
}

// Whether workgroup `wgi` has rows to compute (uniform: the entry returns before any barrier).
fn gemv_active(wgi: u32) -> bool {
  return (wgi / params.split) * ROWS * (WG / LANES) < params.n;
}

// Row m's x at vec4 kx: x itself, or silu(gate) * up from a gate|up row (X_SILU), computed as
// wgsl/silu_mul.wgsl computes it.
fn x_at(m: u32, kx: u32, k4: u32) -> vec4<f32> {
  if (X_SILU) {
    let g = x[m * 2u * k4 + kx];
    let u = x[m * 2u * k4 + k4 + kx];
    return g / (1.0 + exp(-g)) * u;
  }
  return x[m * k4 + kx];
}

// Fills `acc` (and `ssq`) with this invocation's partial sums for pass `ps` (rows 8 ps ..).
fn gemv_tile(wgi: u32, lid: u32, ps: u32) -> Tile {
  let split = params.split;
  let n = params.n;
  let lane = lid % LANES;
  var t: Tile;
  t.n0 = ((wgi / split) * (WG / LANES) + lid / LANES) * ROWS;
  t.slice = wgi % split;
  t.m0 = ps * MAX_M;
  t.mc = min(MAX_M, dims.rows - t.m0);
  let mc = t.mc;
  for (var i = 0u; i < MAX_ROWS * MAX_M; i++) { acc[i] = 0.0; }
  for (var m = 0u; m < MAX_M; m++) { ssq[m] = 0.0; }
  let units = params.k / UNIT_ELEMS;
  let per = (units + split - 1u) / split;
  let u_end = min(units, (t.slice + 1u) * per);
  let k4 = params.k / 4u;
  let row_bytes = params.k / BLOCK_ELEMS * BLOCK_BYTES;
  var row_byte: array<u32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    row_byte[r] = min(t.n0 + r, n - 1u) * row_bytes; // rows past N are read (clamped) but not stored
  }
  // With K split, no workgroup loads all of x in the product: the squares take a pass of their own.
  let squares_apart = X_NORM && split > 1u;
  if (squares_apart) {
    for (var kx = lane; kx < k4; kx += LANES) {
      for (var m = 0u; m < mc; m++) {
        let xv = x[(dims.first + t.m0 + m) * k4 + kx];
        ssq[m] += dot(xv, xv);
      }
    }
  }
  for (var u = t.slice * per + lane; u < u_end; u += LANES) {
    var w: array<array<vec4<f32>, UNIT_VEC4>, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      w[r] = dequant_unit(row_byte[r], u);
    }
    for (var j = 0u; j < UNIT_VEC4; j++) {
      let kx = u * UNIT_VEC4 + j;
      for (var m = 0u; m < mc; m++) {
        var xv = x_at(dims.first + t.m0 + m, kx, k4);
        if (X_NORM) {
          if (!squares_apart) { ssq[m] += dot(xv, xv); }
          xv *= norm_w[kx];
        }
        for (var r = 0u; r < ROWS; r++) {
          acc[r * MAX_M + m] += dot(w[r][j], xv);
        }
      }
    }
  }
  return t;
}

// 1 / sqrt(mean(x^2) + eps) from a row's sum of squares, as wgsl/rmsnorm.wgsl computes it.
fn inv_rms(ss: f32) -> f32 {
  return 1.0 / sqrt(ss / f32(params.k) + params.eps);
}

// Reduced slots per row group and pass: ROWS * mc sums, then (X_NORM) mc sums of squares.
fn gemv_slots(mc: u32) -> u32 {
  return select(ROWS * mc, (ROWS + 1u) * mc, X_NORM);
}

// This invocation's value of reduced slot i (see gemv_slots).
fn gemv_slot(t: Tile, i: u32) -> f32 {
  let rm = ROWS * t.mc;
  if (i >= rm) { return ssq[i - rm]; }
  return acc[(i / t.mc) * MAX_M + i % t.mc];
}

// Slot i = r * mc + m of the tile's rows, summed over the row group (times inv_rms(ss) with X_NORM,
// ss being row m's whole sum of squares): to y, or to its slice of the partial sums.
fn gemv_store(t: Tile, i: u32, sum: f32, ss: f32) {
  var s = sum;
  if (X_NORM) { s *= inv_rms(ss); }
  let n = t.n0 + i / t.mc;
  if (n >= params.n) { return; }
  let m = t.m0 + i % t.mc;
  if (params.split > 1u) {
    out[(t.slice * dims.rows + m) * params.n + n] = s;
  } else {
    let o = (dims.first + m) * params.y_stride + params.y_offset + n;
    if (params.accumulate != 0u) { out[o] += s; } else { out[o] = s; }
  }
}
