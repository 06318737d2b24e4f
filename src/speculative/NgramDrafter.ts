import type { Draft, DraftRequest, Drafter } from './Drafter.ts';

/** The longest n-gram tried first: longer matches predict better, shorter ones match more often. */
const MAX_NGRAM = 3;

/**
 * Prompt lookup (n-gram) drafting: the last n tokens of the context (n = 3, then 2, then 1) are
 * looked up in the earlier context, and the tokens that followed their most recent occurrence
 * are proposed. No model and no state: summaries, code edits and a model's own repetitive
 * continuations copy from their context, and a miss costs only the rows it drafted.
 */
export class NgramDrafter implements Drafter {
  readonly method = 'ngram' as const;

  propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    return Promise.resolve(requests.map((r) => ({ tokens: lookup(r.context, r.k), probs: null })));
  }

  release(): void {
    // Nothing is kept per sequence.
  }
}

/**
 * Up to `k` tokens that followed the most recent earlier occurrence of the context's last n-gram.
 * A match close to the end runs on into the draft itself (an overlapping copy, as in LZ77): a
 * context that repeats with period p keeps repeating, so a model stuck in a loop of p tokens gets
 * drafts of k tokens, not just the p - 1 to the end of the context.
 */
export function lookup(context: readonly number[], k: number, maxN = MAX_NGRAM): number[] {
  const len = context.length;
  if (k < 1) return [];
  for (let n = Math.min(maxN, len - 1); n >= 1; n--) {
    // The most recent match that has at least one token after it and ends before the suffix itself.
    for (let start = len - n - 1; start >= 0; start--) {
      let same = true;
      for (let j = 0; j < n && same; j++) same = context[start + j] === context[len - n + j];
      if (same) return periodicCopy(context, start + n, k);
    }
  }
  return [];
}

/** k tokens of the context from `from` on, where position len + i is the copy's own token i. */
function periodicCopy(context: readonly number[], from: number, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(from + i < context.length ? context[from + i] : out[from + i - context.length]);
  return out;
}
