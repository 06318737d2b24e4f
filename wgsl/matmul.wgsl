// matmul: y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]), or y[m, n] += that when ACCUMULATE.
//
// Serves prefill (M = tokens) and decode (M = sequences, often 1..8) alike: each invocation
// owns a 4 x 4 register tile (4 rows of x, 4 rows of w) and walks K in vec4 steps, reading
// straight from storage with no workgroup memory and no barriers. Barriers are what SwiftShader
// is slowest at, and for M <= 4 the tile degenerates into a batched matrix-vector product that
// reads each weight exactly once, which is what decode needs. ACCUMULATE fuses the residual add
// (y holds the residual stream) into the o_proj and down_proj products.
//
// Bindings: 0 dims (uniform, dims.rows = M), 1 x (vec4<f32>, [M, K/4]), 2 w (vec4<f32>, [N, K/4],
//           i.e. the Hugging Face [out, in] layout), 3 bias (f32, [N]; bound to a dummy when
//           HAS_BIAS is false), 4 y (f32, [M, N]).
// Workgroup: 64 invocations along n; dispatch (ceil(N / 256), ceil(M / 4)).
// Assumes: K % 4 == 0 (checked on the host); any N and M. Out-of-range rows and columns are
//          clamped for the loads and skipped for the stores.

struct Dims { rows: u32 }

override K: u32;
override N: u32;
override ACCUMULATE: bool = false;
override HAS_BIAS: bool = false;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn store(m: u32, n0: u32, acc: vec4<f32>) {
  if (m >= dims.rows) { return; }
  for (var c = 0u; c < 4u; c++) {
    let n = n0 + c;
    if (n >= N) { return; }
    var v = acc[c];
    if (HAS_BIAS) { v += bias[n]; }
    let i = m * N + n;
    if (ACCUMULATE) { y[i] += v; } else { y[i] = v; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = (wg.x * 64u + lid) * 4u;
  let m0 = wg.y * 4u;
  if (n0 >= N || m0 >= dims.rows) { return; }
  let K4 = K / 4u;
  let last = dims.rows - 1u;
  let x0 = m0 * K4;
  let x1 = min(m0 + 1u, last) * K4;
  let x2 = min(m0 + 2u, last) * K4;
  let x3 = min(m0 + 3u, last) * K4;
  let w0 = n0 * K4;
  let w1 = min(n0 + 1u, N - 1u) * K4;
  let w2 = min(n0 + 2u, N - 1u) * K4;
  let w3 = min(n0 + 3u, N - 1u) * K4;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K4; k++) {
    let b0 = w[w0 + k];
    let b1 = w[w1 + k];
    let b2 = w[w2 + k];
    let b3 = w[w3 + k];
    let a0 = x[x0 + k];
    let a1 = x[x1 + k];
    let a2 = x[x2 + k];
    let a3 = x[x3 + k];
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  store(m0, n0, acc0);
  store(m0 + 1u, n0, acc1);
  store(m0 + 2u, n0, acc2);
  store(m0 + 3u, n0, acc3);
}
