// product_params: the two uniforms of the 'gpu' set's linear products, included before the GEMV
// (wgsl/matmul_gemv.wgsl), the tiled GEMM (wgsl/matmul_tiled.wgsl) and the split-K reduce
// (wgsl/matmul_splitk_reduce.wgsl) by src/gpu/gemv.ts, so that the three read one layout.
//
// Dims: the step's rows of x this dispatch takes, rows first .. first + rows - 1 (a step's short
//   chunks' rows go through the GEMV, the rest through the GEMM: src/gpu/linearSteps.ts).
// Params: one product's shape, written once per weight part by gemvParams (src/gpu/gemv.ts) in
//   this order: K, N, y's row stride, y's first column, K slices (split-K), whether to add to y,
//   and RMSNorm's epsilon for a product with the norm fused into its input (ignored otherwise).

struct Dims { rows: u32, first: u32 }

struct Params {
  k: u32,
  n: u32,
  y_stride: u32,
  y_offset: u32,
  split: u32,
  accumulate: u32,
  eps: f32,
}
