import { beforeAll, describe, expect, it } from 'vitest';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { LegacyLogprobs } from '../../src/api/openai.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/**
 * Issue 13: logit_bias, frequency_penalty and presence_penalty change what is sampled, on the
 * CPU engine over stories260K. Logprobs stay the model's own, so a run's logprobs show what the
 * unbiased model preferred at each position.
 */
let engine: Engine;
let api: FolioEngine;
beforeAll(async () => {
  ({ engine, api } = await cpuEngine());
});

const PROMPT = 'Once upon a time';

/** Every token id whose text, decoded alone, is `text`. */
function idsOf(text: string): number[] {
  return Array.from({ length: engine.tokenizer.vocabSize }, (_, id) => id).filter((id) => engine.tokenizer.decode([id]) === text);
}

async function run(extra: object, maxTokens = 40, prompt = PROMPT): Promise<{ text: string; lp: LegacyLogprobs }> {
  const r = await api.completions.create({ prompt, max_tokens: maxTokens, temperature: 0, logprobs: 5, ...extra });
  return { text: r.choices[0].text, lp: r.choices[0].logprobs! };
}

/** The most repeated token and how often it comes. */
function mostRepeated(tokens: string[]): number {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return Math.max(...counts.values());
}

describe('logit_bias', () => {
  it('-100 bans a token greedy would pick: up to it the text is the same, there it takes the next best', async () => {
    const base = await run({});
    const at = base.lp.tokens.indexOf('Lily');
    expect(at).toBeGreaterThan(0);
    const banned = idsOf('Lily');
    const biased = await run({ logit_bias: Object.fromEntries(banned.map((id) => [id, -100])) });
    expect(biased.lp.tokens).not.toContain('Lily');
    expect(biased.lp.tokens.slice(0, at)).toEqual(base.lp.tokens.slice(0, at));
    const nextBest = Object.entries(base.lp.top_logprobs[at]).filter(([t]) => t !== 'Lily').sort((a, b) => b[1] - a[1])[0];
    expect(biased.lp.tokens[at]).toBe(nextBest[0]);
  });

  it('a positive bias lifts a runner-up over the greedy choice', async () => {
    const base = await run({}, 4);
    const [runnerUp, runnerUpLp] = Object.entries(base.lp.top_logprobs[0]).filter(([t]) => t !== base.lp.tokens[0]).sort((a, b) => b[1] - a[1])[0];
    const gap = base.lp.token_logprobs[0] - runnerUpLp;
    const lifted = await run({ logit_bias: Object.fromEntries(idsOf(runnerUp).map((id) => [id, gap + 1])) }, 4);
    expect(lifted.lp.tokens[0]).toBe(runnerUp);
    // A bias that falls short of the gap changes nothing.
    const short = await run({ logit_bias: Object.fromEntries(idsOf(runnerUp).map((id) => [id, gap - 0.5])) }, 4);
    expect(short.lp.tokens[0]).toBe(base.lp.tokens[0]);
  });

  it('a banned token is never drawn when sampling, whatever the seed', async () => {
    const first = (await run({}, 1)).lp.tokens[0];
    const bias = Object.fromEntries(idsOf(first).map((id) => [id, -100]));
    const seen = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const r = await api.completions.create({ prompt: PROMPT, max_tokens: 1, temperature: 2, seed, logit_bias: bias, logprobs: 0 });
      seen.add(r.choices[0].logprobs!.tokens[0]);
    }
    expect(seen.has(first)).toBe(false);
    expect(seen.size).toBeGreaterThan(1);
  });

  it("an id outside the model's vocabulary is an InvalidParamsError naming logit_bias", async () => {
    const vocab = engine.backend.config.vocabSize;
    await expect(api.completions.create({ prompt: PROMPT, logit_bias: { [vocab]: 1 } })).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'logit_bias' });
    await expect(api.completions.create({ prompt: PROMPT, max_tokens: 1, logit_bias: { [vocab - 1]: 1 } })).resolves.toBeDefined();
  });
});

describe('frequency_penalty and presence_penalty', () => {
  it('each choice is the best token after the penalties of its own earlier output (OpenAI: logit -= count * f + (count > 0) * p)', async () => {
    for (const [f, p] of [[1.5, 0], [0, 1.5], [0.7, 0.7]]) {
      const { lp } = await run({ frequency_penalty: f, presence_penalty: p });
      const counts = new Map<string, number>();
      lp.tokens.forEach((chosen, i) => {
        const adjusted = (t: string, logprob: number) => logprob - (counts.get(t) ?? 0) * f - ((counts.get(t) ?? 0) > 0 ? p : 0);
        const mine = adjusted(chosen, lp.token_logprobs[i]);
        for (const [t, logprob] of Object.entries(lp.top_logprobs[i])) expect(adjusted(t, logprob)).toBeLessThanOrEqual(mine + 1e-4);
        counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
      });
    }
  });

  it('they cut repetition where greedy repeats', async () => {
    const base = await run({}, 60);
    const f = await run({ frequency_penalty: 2 }, 60);
    const p = await run({ presence_penalty: 2 }, 60);
    expect(mostRepeated(f.lp.tokens)).toBeLessThan(mostRepeated(base.lp.tokens));
    expect(mostRepeated(p.lp.tokens)).toBeLessThan(mostRepeated(base.lp.tokens));
  });

  it("they count the choice's output only, not the prompt", async () => {
    const base = await run({}, 40);
    // A prompt that already holds the token greedy picks next, by a margin that penalties
    // counting the prompt would overturn: found among the prefixes of greedy's own text.
    let found = false;
    for (let i = 1; i < base.lp.tokens.length && !found; i++) {
      const prompt = PROMPT + base.text.slice(0, base.lp.text_offset[i] - PROMPT.length);
      const { lp } = await run({}, 1, prompt);
      const next = lp.tokens[0];
      const inPrompt = engine.tokenizer.encode(prompt).some((id) => engine.tokenizer.decode([id]) === next);
      const margin = lp.token_logprobs[0] - Math.max(...Object.entries(lp.top_logprobs[0]).filter(([t]) => t !== next).map(([, v]) => v));
      if (!inPrompt || margin >= 4) continue;
      found = true;
      expect((await run({ presence_penalty: 2, frequency_penalty: 2 }, 1, prompt)).lp.tokens[0]).toBe(next);
    }
    expect(found).toBe(true);
  });
});
