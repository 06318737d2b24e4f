// attention_reduce: merges each row's flash-decoding partials (attention_partial.wgsl) into its
// attention output: with M the largest partial max, out = sum acc_i e^(m_i - M) / sum l_i e^(m_i - M).
// A partial whose keys were all masked has m = -3e38 and l = 0, and weighs exactly 0.
//
// Bindings: 0 plan (u32: header [stats base, reduce offset, reduce rows, items]; reduce list of
//           4 words [row, first partial, partials, 0]), 1 partials (vec4<f32>: acc [partials,
//           NUM_HEADS, HD4], then (m, l, 0, 0) [partials, NUM_HEADS] from the stats base),
//           2 out (vec4<f32>, [rows, NUM_HEADS, HD4]).
// Workgroup: 64 invocations, one per (reduced row, head, vec4 of the head); grid folded.
// Assumes: a reduced row's partials are contiguous, in the order its items were planned.

override NUM_HEADS: u32;
override HD4: u32;

@group(0) @binding(0) var<storage, read> plan: array<u32>;
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= plan[2] * NUM_HEADS * HD4) { return; }
  let d = i % HD4;
  let h = (i / HD4) % NUM_HEADS;
  let rb = plan[1] + (i / (HD4 * NUM_HEADS)) * 4u;
  let row = plan[rb];
  let p0 = plan[rb + 1u];
  let np = plan[rb + 2u];
  let stats = plan[0];
  var m = -3.0e38;
  for (var p = p0; p < p0 + np; p++) { m = max(m, partials[stats + p * NUM_HEADS + h].x); }
  var l = 0.0;
  var o = vec4<f32>(0.0);
  for (var p = p0; p < p0 + np; p++) {
    let ml = partials[stats + p * NUM_HEADS + h];
    let w = exp(ml.x - m);
    l += ml.y * w;
    o += partials[(p * NUM_HEADS + h) * HD4 + d] * w;
  }
  out[(row * NUM_HEADS + h) * HD4 + d] = o * (1.0 / l);
}
