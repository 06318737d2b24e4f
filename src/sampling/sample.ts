import { argmax } from './argmax.ts';
import type { Rng } from './Rng.ts';
import type { SamplingParams } from './SamplingParams.ts';

/** Divides positive logits of seen tokens by the penalty and multiplies negative ones. */
function penalize(logits: Float32Array, seen: Iterable<number>, penalty: number): Float32Array {
  const out = logits.slice();
  for (const id of new Set(seen)) out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  return out;
}

/** What the draw itself needs: the row's truncation and temperature (no penalty). */
export interface DrawParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** 0 keeps every token. */
  topK: number;
  /** 1 keeps the whole distribution. */
  topP: number;
}

const ONE_BITS = 0x3f800000; // the f32 bits of 1.0, the largest weight
const STEPS = 30; // ceil(log2(ONE_BITS + 1)): the bisection below always converges in these

/**
 * One draw from a row of logits for a given uniform `u` in [0, 1): the definition that
 * wgsl/sample.wgsl computes on the GPU, order-independent so that neither side sorts.
 *
 *   T = 0: the argmax (the first on ties).
 *   T > 0: m = max logit; weights w_i = f32(exp((l_i - m) / T)) (NaN counts as 0), so the
 *   largest weight is 1; Z = sum w_i. Kept set K = { i : bits(w_i) >= t } with bits() the
 *   f32 bit pattern (monotone for w >= 0), t the largest u32 such that
 *     (topK > 0 and count(bits(w) >= t) >= topK) or (topP < 1 and mass(bits(w) >= t) >= topP * Z),
 *   else 0 (K is everything). That is: the topK most likely tokens or the smallest most-likely
 *   set reaching mass topP, whichever is smaller, a tie at the threshold kept whole. Then
 *   r = u * mass(K) and the token is the first i of K in index order whose running mass
 *   exceeds r (the last of K if rounding leaves none).
 *
 * The host sums in f64, the GPU in f32 in another order: the two pick the same token unless
 * a sum lands within rounding of a boundary (a threshold or r).
 */
export function sampleWithU(logits: Float32Array, p: DrawParams, u: number): number {
  if (p.temperature === 0) return argmax(logits);
  const { w, bits, lo, kept, arg } = truncate(logits, p);
  if (!(kept > 0)) return arg;
  const r = u * kept;
  let acc = 0;
  let last = arg;
  for (let i = 0; i < w.length; i++) {
    if (bits[i] >= lo) {
      acc += w[i];
      last = i;
      if (acc > r) return i;
    }
  }
  return last;
}

/** A row's weights and kept set as sampleWithU defines them (temperature > 0). */
export interface Truncation {
  /** f32(exp((l_i - m) / T)), NaN as 0. */
  w: Float32Array;
  /** w's bit patterns: i is kept when bits[i] >= lo. */
  bits: Uint32Array;
  lo: number;
  /** The kept mass (not > 0: nothing can be drawn, and the argmax stands). */
  kept: number;
  arg: number;
}

/** The truncation that sampleWithU draws from; speculative verification needs the same distribution. */
export function truncate(logits: Float32Array, p: DrawParams): Truncation {
  const n = logits.length;
  let m = -3.4e38;
  let arg = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i] > m) {
      m = logits[i];
      arg = i;
    }
  }
  const w = new Float32Array(n);
  const bits = new Uint32Array(w.buffer);
  let z = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] - m) / p.temperature);
    w[i] = e >= 0 ? e : 0;
    z += w[i];
  }
  const useK = p.topK > 0;
  const useP = p.topP < 1;
  let lo = 0;
  if (z > 0 && (useK || useP)) {
    const wantMass = p.topP * z;
    let hi = ONE_BITS + 1;
    for (let it = 0; it < STEPS && hi - lo > 1; it++) {
      const mid = lo + Math.floor((hi - lo) / 2);
      let mass = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (bits[i] >= mid) {
          mass += w[i];
          count++;
        }
      }
      if ((useK && count >= p.topK) || (useP && mass >= wantMass)) lo = mid;
      else hi = mid;
    }
  }
  let kept = 0;
  for (let i = 0; i < n; i++) if (bits[i] >= lo) kept += w[i];
  return { w, bits, lo, kept, arg };
}

/**
 * Picks the next token from one row of logits: the repetition penalty, then greedy at
 * temperature 0, otherwise one draw from `rng` by sampleWithU (softmax at the temperature,
 * truncated by top-k and top-p).
 */
export function sample(logitsIn: Float32Array, p: SamplingParams, rng: Rng, seen: readonly number[] = []): number {
  const logits = p.repetitionPenalty !== 1 ? penalize(logitsIn, seen, p.repetitionPenalty) : logitsIn;
  if (p.temperature === 0) return argmax(logits);
  return sampleWithU(logits, p, rng.next());
}

/** log softmax of one row, for logprobs. */
export function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return logits.map((v) => v - lse);
}

/** The `n` most likely tokens with their log-probabilities, best first. */
export function topLogprobs(logprobs: Float32Array, n: number): { id: number; logprob: number }[] {
  return Array.from(logprobs.keys())
    .sort((a, b) => logprobs[b] - logprobs[a] || a - b)
    .slice(0, n)
    .map((id) => ({ id, logprob: logprobs[id] }));
}

/** Index of the first NaN or infinite value in a row of logits, or -1: such a row cannot be sampled. */
export function firstNonFinite(row: Float32Array): number {
  for (let i = 0; i < row.length; i++) if (!Number.isFinite(row[i])) return i;
  return -1;
}
