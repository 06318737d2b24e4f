import { argmax } from './argmax.ts';
import type { Rng } from './Rng.ts';
import type { SamplingParams } from './SamplingParams.ts';

/** Divides positive logits of seen tokens by the penalty and multiplies negative ones. */
function penalize(logits: Float32Array, seen: Iterable<number>, penalty: number): Float32Array {
  const out = logits.slice();
  for (const id of new Set(seen)) out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  return out;
}

/**
 * Picks the next token from one row of logits: greedy at temperature 0, otherwise softmax at
 * the temperature, truncated by top-k then top-p (nucleus), and one draw from `rng`.
 */
export function sample(logitsIn: Float32Array, p: SamplingParams, rng: Rng, seen: readonly number[] = []): number {
  const logits = p.repetitionPenalty !== 1 ? penalize(logitsIn, seen, p.repetitionPenalty) : logitsIn;
  if (p.temperature === 0) return argmax(logits);
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = p.topK > 0 ? Math.min(p.topK, ids.length) : ids.length;
  const max = logits[ids[0]];
  const probs: number[] = [];
  let total = 0;
  for (let i = 0; i < k; i++) {
    const e = Math.exp((logits[ids[i]] - max) / p.temperature);
    probs.push(e);
    total += e;
  }
  let kept = k;
  if (p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < k; i++) {
      cum += probs[i] / total;
      if (cum >= p.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < kept; i++) mass += probs[i];
  let r = rng.next() * mass;
  for (let i = 0; i < kept; i++) {
    r -= probs[i];
    if (r < 0) return ids[i];
  }
  return ids[kept - 1];
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
