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

/** Up to `k` tokens that followed the most recent earlier occurrence of the context's last n-gram. */
export function lookup(context: readonly number[], k: number, maxN = MAX_NGRAM): number[] {
  const len = context.length;
  if (k < 1) return [];
  for (let n = Math.min(maxN, len - 1); n >= 1; n--) {
    // The most recent match that has at least one token after it and ends before the suffix itself.
    for (let start = len - n - 1; start >= 0; start--) {
      let same = true;
      for (let j = 0; j < n && same; j++) same = context[start + j] === context[len - n + j];
      if (same) return context.slice(start + n, Math.min(len, start + n + k));
    }
  }
  return [];
}
