// matmul_tiled: y[m, y_offset + n] = sum_k x[m, k] * W[n, k]  (or += when accumulating): the prefill
// product (M rows, from a uniform) of the 'gpu' kernel set, for every weight format, tiled through
// workgroup memory.
//
// Composition: formats/common.wgsl + formats/<format>.wgsl + this file (src/gpu/gemv.ts).
// Bindings: 0 dims (uniform, dims.rows = M rows of x and y from row dims.first on: 0 but where a
//             step splits its rows between the GEMV and this GEMM, src/gpu/linearSteps.ts),
//           1 params (uniform: the product's shape, Params of wgsl/product_params.wgsl, same buffer),
//           2 weights (array<u32>: N packed rows of K / BLOCK_ELEMS * BLOCK_BYTES, [out, in]),
//           3 x (vec4<f32>, [M, K / 4]; with X_SILU the gate|up rows [M, 2K / 4], read as
//             silu(gate) * up: SwiGLU fused into the down projection),
//           4 y (f32, [M, y_stride]; this product writes columns y_offset .. y_offset + N - 1),
//           5 norm_w (vec4<f32>, [K / 4]): with X_NORM the RMSNorm weight, the norm fused in as in
//             wgsl/matmul_gemv.wgsl: x tiles are loaded times norm_w, the invocation that loads a
//             row's x is one of the 8 that own its outputs (tx = the vec4 it loads, ty = the row
//             mod 8), so each sums the squares it loads and after the K loop the 8 add theirs up
//             through workgroup memory (one barrier) and scale their outputs by inv_rms.
// Workgroup: 64 invocations as 8 x 8, owning a 32 x 32 tile of y (32 rows of x by 32 weight rows);
//   invocation (tx, ty) accumulates the 4 x 4 outputs (ty + 8i, tx + 8j). Dispatch
//   (ceil(N / 32), ceil(M / 32)). A row's result does not depend on where its tile starts or on M
//   (same sums in the same order for every row of a tile), which keeps a chunk's rows bit-identical
//   whatever rows share its step.
// Per step of TK = 32 along K: the workgroup decodes the 32 x 32 weight tile once (32 / UNIT_ELEMS
//   units per row; each unit decoded by one invocation, f32, bit-exact with src/quant) and loads
//   the 32 x 32 x tile into workgroup memory, one barrier, 32 rank-1 updates from it, one barrier.
//   Each weight is decoded once per 32 rows of x (the register-tiled GEMM decodes it once per 4),
//   and each x value read from memory serves 32 weight rows (with X_SILU, silu is computed once
//   per x tile, N / 32 times per value).
// Layout of the tiles: [k][row] (wt[k * 32 + n], xt[k * 32 + m]), so that in the inner loop the
//   8 invocations of a row read 8 neighbouring words (no bank conflicts), and a unit's decode
//   writes one word in each of its invocations' distinct banks. 8 KiB of workgroup memory.
// Tails: rows of x past M and weight rows past N are clamped for loads and skipped for stores; a
//   step past K (K % 32 != 0: the f32/f16 formats, whose units are 4 or 8) loads zeros.
// The shape comes from the params uniform (one pipeline per format and X_SILU, for every part).
// Assumes: K % BLOCK_ELEMS == 0 and K % UNIT_ELEMS == 0; 32 % UNIT_ELEMS == 0 (true of every format).

const TILE: u32 = 32u;
const TK: u32 = 32u;

override X_SILU: bool = false;
override X_NORM: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> norm_w: array<vec4<f32>>;

// Sized by an override, not a constant: SwiftShader compiles the kernel about twice as fast so.
override TILE_ELEMS: u32 = TK * TILE;
var<workgroup> wt: array<f32, TILE_ELEMS>;
var<workgroup> xt: array<f32, TILE_ELEMS>;

fn store1(m: u32, n: u32, v: f32) {
  if (n >= params.n) { return; }
  let o = m * params.y_stride + params.y_offset + n;
  if (params.accumulate != 0u) { y[o] += v; } else { y[o] = v; }
}

// Row m's outputs at weight rows n, n + 8, n + 16, n + 24.
fn store_row(m: u32, n: u32, a: vec4<f32>) {
  if (m >= dims.first + dims.rows) { return; }
  store1(m, n, a.x);
  store1(m, n + 8u, a.y);
  store1(m, n + 16u, a.z);
  store1(m, n + 24u, a.w);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n_base = wg.x * TILE;
  let m_base = dims.first + wg.y * TILE;
  let rows = dims.first + dims.rows; // the end of this dispatch's rows
  let tx = lid % 8u;
  let ty = lid / 8u;
  let K = params.k;
  let N = params.n;
  let row_bytes = K / BLOCK_ELEMS * BLOCK_BYTES;
  let k4 = K / 4u;
  let units = K / UNIT_ELEMS;
  let units_per_step = TK / UNIT_ELEMS;
  // acc<i>[j]: row m_base + ty + 8i of x against weight row n_base + tx + 8j (four named vectors:
  // SwiftShader compiles arrays of vectors indexed in loops many times slower).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  // With X_NORM: squares of x rows ty, ty + 8, ty + 16, ty + 24 over the vec4s this invocation loads.
  var ssq = vec4<f32>(0.0);

  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Weight tile: 32 rows x units_per_step units.
    for (var t = lid; t < TILE * units_per_step; t += 64u) {
      let nl = t / units_per_step;
      let ul = t % units_per_step;
      let u = k0 / UNIT_ELEMS + ul;
      // Past K (a tail step) the last unit is decoded again: the x tile holds zeros there.
      let w = dequant_unit(min(n_base + nl, N - 1u) * row_bytes, min(u, units - 1u));
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
      if (kq < k4) {
        let m = min(m_base + ml, rows - 1u);
        if (X_SILU) {
          // wgsl/silu_mul.wgsl's expression, on the gate|up row.
          let g = x[m * 2u * k4 + kq];
          let u = x[m * 2u * k4 + k4 + kq];
          v = g / (1.0 + exp(-g)) * u;
        } else {
          v = x[m * k4 + kq];
        }
        if (X_NORM) {
          ssq[t / 64u] += dot(v, v);
          v *= norm_w[kq];
        }
      }
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

  if (X_NORM) {
    // Row ty + 8i's squares are spread over the 8 invocations tx = 0..7 of row ty: sum them (xt
    // is free after the loop's last barrier).
    for (var i = 0u; i < 4u; i++) { xt[(ty + 8u * i) * 8u + tx] = ssq[i]; }
    workgroupBarrier();
    var total = vec4<f32>(0.0);
    for (var c = 0u; c < 8u; c++) {
      total += vec4<f32>(xt[ty * 8u + c], xt[(ty + 8u) * 8u + c], xt[(ty + 16u) * 8u + c], xt[(ty + 24u) * 8u + c]);
    }
    let inv = 1.0 / sqrt(total / f32(K) + params.eps);
    acc0 *= inv.x;
    acc1 *= inv.y;
    acc2 *= inv.z;
    acc3 *= inv.w;
  }
  store_row(m_base + ty, n_base + tx, acc0);
  store_row(m_base + ty + 8u, n_base + tx, acc1);
  store_row(m_base + ty + 16u, n_base + tx, acc2);
  store_row(m_base + ty + 24u, n_base + tx, acc3);
}
