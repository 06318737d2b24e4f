/**
 * How long a draft to ask for: the length whose expected tokens per millisecond of step is the
 * highest, given the sequence's acceptance rate and what steps cost here (stepCost.ts). Drafts
 * that are nearly always accepted pay where an extra row is cheap (a GPU, or a CPU below its
 * compute bound), and cost more than they earn where each row costs a full forward.
 */

/**
 * Expected tokens one verification yields for a draft of d tokens, each accepted with
 * probability `alpha` once the ones before it were: the accepted prefix plus the target's own
 * token, sum of alpha^i for i = 0..d.
 */
export function expectedTokens(alpha: number, d: number): number {
  if (alpha >= 1) return d + 1;
  return (1 - alpha ** (d + 1)) / (1 - alpha);
}

export interface DraftLengthInput {
  /** The sequence's estimated per-token acceptance, in [0, 1]. */
  alpha: number;
  /** The longest draft allowed (its adaptive k, maxTokens, the context); at least 1. */
  maxLength: number;
  /** The step's rows before this sequence's drafts, its own row included. */
  rows: number;
  /** The step's expected tokens before this sequence's drafts, its own one included. */
  tokens: number;
  /** Estimated milliseconds of a step of so many rows; null when unknown. */
  cost: (rows: number) => number | null;
}

/**
 * The draft length in 1..maxLength with the most expected tokens of the step per millisecond;
 * maxLength when the cost of some candidate is unknown (nothing measured yet). Ties go to the
 * longer draft: an estimate not yet trusted is optimistic (stepCost.ts), and this measures it.
 */
export function chooseDraftLength({ alpha, maxLength, rows, tokens, cost }: DraftLengthInput): number {
  let best = maxLength;
  let bestRate = -Infinity;
  for (let d = 1; d <= maxLength; d++) {
    const ms = cost(rows + d);
    if (ms === null) return maxLength;
    const rate = (tokens - 1 + expectedTokens(alpha, d)) / Math.max(ms, 1e-6);
    if (rate >= bestRate) {
      best = d;
      bestRate = rate;
    }
  }
  return best;
}
