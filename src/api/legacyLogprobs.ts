import type { LegacyLogprobs, TokenLogprob } from './openai.ts';

/** A token's logprobs, with where its text starts in the choice's completion text. */
export interface PlacedLogprob {
  logprob: TokenLogprob;
  /** Characters of completion text streamed before this token's. */
  offset: number;
}

/**
 * OpenAI's legacy text-completion logprobs: tokens, token_logprobs, top_logprobs (a dict of
 * the k most likely tokens, plus the chosen one when it is not among them, as OpenAI says
 * "up to logprobs+1 elements"), and text_offset counted from the start of the prompt, as
 * OpenAI's are (prompt "test" puts the first completion token at 4).
 */
export function legacyLogprobs(placed: readonly PlacedLogprob[], promptChars: number): LegacyLogprobs {
  return {
    tokens: placed.map((p) => p.logprob.token),
    token_logprobs: placed.map((p) => p.logprob.logprob),
    top_logprobs: placed.map(({ logprob: lp }) => {
      const seen = new Set<string>();
      // Of two alternatives that decode alike, the first (the more likely) keeps the key.
      const entries = [...lp.top_logprobs, lp].filter((t) => !seen.has(t.token) && seen.add(t.token));
      // Object.fromEntries keeps a token such as "__proto__" as a key, where an assignment would not.
      return Object.fromEntries(entries.map((t) => [t.token, t.logprob]));
    }),
    text_offset: placed.map((p) => promptChars + p.offset),
  };
}
