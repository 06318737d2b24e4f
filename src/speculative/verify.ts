import { argmax } from '../sampling/argmax.ts';
import { type DrawParams, sampleWithU, truncate } from '../sampling/sample.ts';

/** What verification of one draft decided: how many drafted tokens stand, and the target's own next token. */
export interface Verdict {
  accepted: number;
  /** The token after the accepted drafts: a rejected draft's replacement, or the bonus token after a fully accepted draft. */
  token: number;
}

/**
 * Verifies `draft` against the target's logits at each drafted position: row(i) is the target's
 * logits for the token at draft position i (row(draft.length): after the whole draft).
 *
 * Greedy (temperature 0): a draft stands while it equals the target's argmax, and the first
 * mismatch is replaced by the argmax: exactly the tokens plain greedy decoding would output.
 *
 * Sampled: the speculative sampling rule (Leviathan et al. 2023; Chen et al. 2023). With p the
 * target's distribution after the request's temperature, top-k and top-p (targetDistribution),
 * and q the draft's, drafted token d stands with probability min(1, p(d) / q(d)); else the
 * replacement is drawn from normalize(max(0, p - q)). A deterministic drafter (probs null) is a
 * point mass: d stands with probability p(d), else the replacement comes from p without d.
 * Each emitted token is then distributed as p, whatever the drafter proposed. After a fully
 * accepted draft the bonus token is drawn as plain sampling draws (sampleWithU).
 * `next` gives the uniform draws, so a seeded request stays deterministic.
 */
export function verifyDraft(
  row: (i: number) => Float32Array,
  draft: readonly number[],
  probs: readonly Float32Array[] | null,
  p: DrawParams,
  next: () => number,
): Verdict {
  for (let i = 0; i < draft.length; i++) {
    const logits = row(i);
    const d = draft[i];
    if (p.temperature === 0) {
      const best = argmax(logits);
      if (best !== d) return { accepted: i, token: best };
      continue;
    }
    const target = targetDistribution(logits, p);
    const q = probs?.[i];
    const qd = q ? q[d] : 1;
    if (next() * qd < target[d]) continue; // u < p(d) / q(d), without dividing by a zero q(d)
    const residual = new Float64Array(target.length);
    for (let j = 0; j < residual.length; j++) residual[j] = Math.max(0, target[j] - (q ? q[j] : j === d ? 1 : 0));
    return { accepted: i, token: drawFrom(residual, next()) };
  }
  const last = row(draft.length);
  return { accepted: draft.length, token: p.temperature === 0 ? argmax(last) : sampleWithU(last, p, next()) };
}

/**
 * The distribution sampleWithU draws from (its comment is the definition): weights
 * exp((l - max) / T) as f32, truncated to the kept set of top-k / top-p by the same threshold on
 * the weights' bits, normalized. Returns probabilities in f64 summing to 1.
 */
export function targetDistribution(logits: Float32Array, p: DrawParams): Float64Array {
  const out = new Float64Array(logits.length);
  if (p.temperature === 0) {
    out[argmax(logits)] = 1;
    return out;
  }
  const { w, bits, lo, kept, arg } = truncate(logits, p);
  if (!(kept > 0)) {
    out[arg] = 1;
    return out;
  }
  for (let i = 0; i < w.length; i++) if (bits[i] >= lo) out[i] = w[i] / kept;
  return out;
}

/** The first index whose running mass exceeds u * total (the last with mass if rounding leaves none). */
export function drawFrom(weights: Float64Array, u: number): number {
  let total = 0;
  for (const w of weights) total += w;
  const r = u * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    acc += weights[i];
    last = i;
    if (acc > r) return i;
  }
  return last;
}
