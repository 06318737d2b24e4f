// matmul_tiled: y[m, Y_OFFSET + n] = sum_k x[m, k] * W[n, k]  (or += when ACCUMULATE): the prefill
// product (M rows, from a uniform) of the 'gpu' kernel set, for every weight format, tiled through
// workgroup memory.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/formatKernels.ts).
// Bindings: 0 dims (uniform, dims.rows = M),
//           1 weights (array<u32>: N packed rows of ROW_BYTES, the [out, in] layout),
//           2 x (vec4<f32>, [M, K / 4]),
//           3 y (f32, [M, Y_STRIDE]; this product writes columns Y_OFFSET .. Y_OFFSET + N - 1).
// Workgroup: 64 invocations as 8 x 8, owning a 32 x 32 tile of y (32 rows of x by 32 weight rows);
//   invocation (tx, ty) accumulates the 4 x 4 outputs (ty + 8i, tx + 8j). Dispatch
//   (ceil(N / 32), ceil(M / 32)).
// Per step of TK = 32 along K: the workgroup decodes the 32 x 32 weight tile once (32 / UNIT_ELEMS
//   units per row; each unit decoded by one invocation, f32, bit-exact with src/quant) and loads
//   the 32 x 32 x tile into workgroup memory, one barrier, 32 rank-1 updates from it, one barrier.
//   Each weight is decoded once per 32 rows of x (the register-tiled GEMM decodes it once per 4),
//   and each x value read from memory serves 32 weight rows.
// Layout of the tiles: [k][row] (wt[k * 32 + n], xt[k * 32 + m]), so that in the inner loop the
//   8 invocations of a row read 8 neighbouring words (no bank conflicts), and a unit's decode
//   writes one word in each of its invocations' distinct banks. 8 KiB of workgroup memory.
// Tails: rows of x past M and weight rows past N are clamped for loads and skipped for stores; a
//   step past K (K % 32 != 0: the f32/f16 formats, whose units are 4 or 8) loads zeros.
// Overrides: K, N, ACCUMULATE, Y_STRIDE (default N), Y_OFFSET (default 0).
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0; 32 % UNIT_ELEMS == 0 (true of every format).

struct Dims { rows: u32 }

const TILE: u32 = 32u;
const TK: u32 = 32u;

override K: u32;
override N: u32;
override ACCUMULATE: bool = false;
override ROW_BYTES: u32 = K / BLOCK_ELEMS * BLOCK_BYTES;
override Y_STRIDE: u32 = N;
override Y_OFFSET: u32 = 0u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// Sized by an override, not a constant: SwiftShader compiles the kernel about twice as fast so.
override TILE_ELEMS: u32 = TK * TILE;
var<workgroup> wt: array<f32, TILE_ELEMS>;
var<workgroup> xt: array<f32, TILE_ELEMS>;

fn store1(m: u32, n: u32, v: f32) {
  if (n >= N) { return; }
  let o = m * Y_STRIDE + Y_OFFSET + n;
  if (ACCUMULATE) { y[o] += v; } else { y[o] = v; }
}

// Row m's outputs at weight rows n, n + 8, n + 16, n + 24.
fn store_row(m: u32, n: u32, a: vec4<f32>) {
  if (m >= dims.rows) { return; }
  store1(m, n, a.x);
  store1(m, n + 8u, a.y);
  store1(m, n + 16u, a.z);
  store1(m, n + 24u, a.w);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n_base = wg.x * TILE;
  let m_base = wg.y * TILE;
  let rows = dims.rows;
  let tx = lid % 8u;
  let ty = lid / 8u;
  let k4 = K / 4u;
  let units = K / UNIT_ELEMS;
  let units_per_step = TK / UNIT_ELEMS;
  // acc<i>[j]: row m_base + ty + 8i of x against weight row n_base + tx + 8j (four named vectors:
  // SwiftShader compiles arrays of vectors indexed in loops many times slower).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Weight tile: 32 rows x units_per_step units.
    for (var t = lid; t < TILE * units_per_step; t += 64u) {
      let nl = t / units_per_step;
      let ul = t % units_per_step;
      let u = k0 / UNIT_ELEMS + ul;
      // Past K (a tail step) the last unit is decoded again: the x tile holds zeros there.
      let w = dequant_unit(min(n_base + nl, N - 1u) * ROW_BYTES, min(u, units - 1u));
      for (var j = 0u; j < UNIT_VEC4; j++) {
        let at = (ul * UNIT_ELEMS + j * 4u) * TILE + nl;
        let v = w[j];
        wt[at] = v.x;
        wt[at + TILE] = v.y;
        wt[at + 2u * TILE] = v.z;
        wt[at + 3u * TILE] = v.w;
      }
    }
    // x tile: 32 rows x 8 vec4.
    for (var t = lid; t < TILE * (TK / 4u); t += 64u) {
      let ml = t / (TK / 4u);
      let q = t % (TK / 4u);
      let kq = k0 / 4u + q;
      var v = vec4<f32>(0.0);
      if (kq < k4) { v = x[min(m_base + ml, rows - 1u) * k4 + kq]; }
      let at = q * 4u * TILE + ml;
      xt[at] = v.x;
      xt[at + TILE] = v.y;
      xt[at + 2u * TILE] = v.z;
      xt[at + 3u * TILE] = v.w;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let wk = k * TILE + tx;
      let b = vec4<f32>(wt[wk], wt[wk + 8u], wt[wk + 16u], wt[wk + 24u]);
      let xk = k * TILE + ty;
      acc0 += xt[xk] * b;
      acc1 += xt[xk + 8u] * b;
      acc2 += xt[xk + 16u] * b;
      acc3 += xt[xk + 24u] * b;
    }
    workgroupBarrier();
  }

  store_row(m_base + ty, n_base + tx, acc0);
  store_row(m_base + ty + 8u, n_base + tx, acc1);
  store_row(m_base + ty + 16u, n_base + tx, acc2);
  store_row(m_base + ty + 24u, n_base + tx, acc3);
}
