// logit_adjust: a step's sparse logit adjustments (OpenAI's frequency/presence penalties and
// logit_bias) and token masks (grammar-constrained rows, banned tokens), applied in place to
// the logits rows just before wgsl/sample.wgsl draws from them, so that such steps still read
// back one id per sequence.
//
// The definition, shared exactly with src/sampling/logitAdjustments.ts (applyAdjustments):
//   adjustment (index = row * VOCAB + token, sub, add): l = (l - sub) + add, in f32, each op
//     rounded once; the host sends sub and add already rounded to f32.
//   mask (a row's bitmask, VOCAB / 32 words rounded up, bit j % 32 of word j / 32 set = token
//     j allowed): a disallowed token's logit becomes MASKED (-3.4e38, the lowest finite f32),
//     which sample.wgsl never picks as the argmax (it starts from -3.4e38 and needs strictly
//     greater) and whose weight exp((MASKED - m) / T) is 0 for every temperature below 1e36.
//   A logit that is NaN or +-Inf is left as it is, so that sample.wgsl still reports the row
//   as non-finite (the host checks the raw row first too).
//   An adjusted token that its row's mask disallows is left to the mask: the two never write
//   the same word. The host merges duplicate (row, token) adjustments into one.
//
// Bindings: 0 logits (f32, [rows, VOCAB], read_write); 1 work (vec4<u32>): [0] = (number of
//           adjustments A, number of masked rows M, 0, 0), [1 .. A] = (index, bits(sub),
//           bits(add), mask row of that logit row or NONE), [A + 1 .. A + M] = (logit row of
//           mask row k, 0, 0, 0); 2 masks (u32, [M, WORDS]).
// Workgroup: 64 invocations; one invocation per adjustment, then one per (mask row, word) for
//            32 tokens; dispatch ceil((A + M * WORDS) / 64) workgroups folded into x and y.
// Assumes: indices lie inside the logits; masks' rows are distinct logit rows.

override VOCAB: u32;

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read> work: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> masks: array<u32>;

const NONE: u32 = 0xffffffffu;
const EXP_BITS: u32 = 0x7f800000u;
const MASKED: f32 = -3.4e38;

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < EXP_BITS; }

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let words = (VOCAB + 31u) / 32u;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  let a = work[0].x;
  let m = work[0].y;
  if (i < a) {
    let e = work[1u + i];
    let mrow = e.w;
    let token = e.x % VOCAB;
    if (mrow != NONE && ((masks[mrow * words + token / 32u] >> (token % 32u)) & 1u) == 0u) { return; }
    let x = logits[e.x];
    if (finite(x)) { logits[e.x] = (x - bitcast<f32>(e.y)) + bitcast<f32>(e.z); }
    return;
  }
  let k = i - a;
  if (k >= m * words) { return; }
  let mrow = k / words;
  let word = k % words;
  let bits = masks[mrow * words + word];
  if (bits == 0xffffffffu) { return; }
  let base = work[1u + a + mrow].x * VOCAB;
  for (var b = 0u; b < 32u; b++) {
    let j = word * 32u + b;
    if (j >= VOCAB) { break; }
    if (((bits >> b) & 1u) == 0u && finite(logits[base + j])) { logits[base + j] = MASKED; }
  }
}
