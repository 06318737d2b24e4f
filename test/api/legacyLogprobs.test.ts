import { describe, expect, it } from 'vitest';
import { legacyLogprobs } from '../../src/api/legacyLogprobs.ts';
import type { TokenLogprob } from '../../src/api/openai.ts';

const lp = (token: string, logprob: number, top: [string, number][]): TokenLogprob => ({
  token, logprob, bytes: [], top_logprobs: top.map(([t, l]) => ({ token: t, logprob: l, bytes: [] })),
});

describe("legacyLogprobs: OpenAI's text-completion shape", () => {
  it('lists tokens, their logprobs, alternatives and offsets from the start of the prompt', () => {
    const out = legacyLogprobs([
      { logprob: lp(' goal', -1, [[' goal', -1], [' end', -2]]), offset: 0 },
      { logprob: lp('!', -0.5, [['.', -0.1], [',', -0.2]]), offset: 5 },
    ], 4);
    expect(out).toEqual({
      tokens: [' goal', '!'],
      token_logprobs: [-1, -0.5],
      // The chosen token joins the alternatives when it is not among them: up to k + 1 entries.
      top_logprobs: [{ ' goal': -1, ' end': -2 }, { '.': -0.1, ',': -0.2, '!': -0.5 }],
      text_offset: [4, 9],
    });
  });

  it('keeps "__proto__" as a token, and the more likely of two alternatives that decode alike', () => {
    const [dict] = legacyLogprobs([{ logprob: lp('__proto__', -3, [['a', -1], ['a', -2]]), offset: 0 }], 0).top_logprobs;
    expect(Object.keys(dict)).toEqual(['a', '__proto__']);
    expect(dict.a).toBe(-1);
    expect(Object.getPrototypeOf(dict)).toBe(Object.prototype);
  });
});
