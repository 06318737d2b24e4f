/**
 * The contract between the engine's speculative step and whatever proposes tokens. A drafter
 * never decides what is output: the target model verifies every drafted token (greedy: by
 * equality; sampled: by the speculative sampling rule), so a poor drafter costs speed, never
 * correctness.
 */

/** How a sampled request's draft is drawn; absent for greedy requests (the drafter's argmax). */
export interface DraftSampling {
  temperature: number;
  topK: number;
  topP: number;
  /** A uniform draw in [0, 1), from a stream of the request's seed kept for drafting only. */
  next(): number;
}

/** One sequence that wants a draft this step. */
export interface DraftRequest {
  seqId: string;
  /** Every token the target has accepted so far: prompt + output. */
  context: readonly number[];
  /** At most this many tokens; a drafter may propose fewer (none when it has no guess). */
  k: number;
  sampling?: DraftSampling;
}

/** A proposal: `tokens`, and for a drafter that samples, the distribution each was drawn from. */
export interface Draft {
  tokens: number[];
  /**
   * probs[i]: the draft distribution (over the vocabulary, summing to 1) that tokens[i] was
   * drawn from. Null for a deterministic drafter (n-gram lookup, greedy draft model): the
   * rule then treats each draft as a point mass.
   */
  probs: Float32Array[] | null;
}

export interface Drafter {
  readonly method: 'ngram' | 'draft';
  /** One draft per request, in order; batched so a draft model runs one forward per drafted position. */
  propose(requests: readonly DraftRequest[]): Promise<Draft[]>;
  /** The sequence finished, was aborted or preempted: drop whatever the drafter keeps for it. */
  release(seqId: string): void;
  /** Frees what the drafter holds beyond the engine's life (a draft model's backend). */
  dispose?(): void;
}
