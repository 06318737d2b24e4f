import { beforeAll, describe, expect, it } from 'vitest';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/** Issue 13, item 4, through the OpenAI-style surface on the CPU engine over stories260K. */
let engine: Engine;
let api: FolioEngine;
beforeAll(async () => {
  ({ engine, api } = await cpuEngine());
});

async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const PROMPT = 'Once upon a time';
const greedy = { temperature: 0, max_tokens: 10 };
/** Usage without cached_tokens, which prefix caching changes from one run of a prompt to the next. */
const counts = (u: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null | undefined) => u && { p: u.prompt_tokens, c: u.completion_tokens, t: u.total_tokens };

describe('max_completion_tokens', () => {
  it('limits the completion as max_tokens does', async () => {
    for (const limit of [3, 6]) {
      const r = await api.completions.create({ prompt: PROMPT, temperature: 0, max_completion_tokens: limit });
      expect(r.usage.completion_tokens).toBe(limit);
      expect(r.choices[0].finish_reason).toBe('length');
    }
  });
});

describe('stream_options.include_usage', () => {
  it('chat: without it no chunk has usage; with it every chunk has usage null and a last chunk with no choices has it', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me a story' }];
    const whole = await api.chat.completions.create({ messages, ...greedy });
    const plain = await all(await api.chat.completions.create({ messages, ...greedy, stream: true }));
    expect(plain.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    expect(plain.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content);
    const counted = await all(await api.chat.completions.create({ messages, ...greedy, stream: true, stream_options: { include_usage: true } }));
    const last = counted.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(counts(last.usage)).toEqual(counts(whole.usage));
    expect(counted.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true);
    expect(counted.length).toBe(plain.length + 1);
  });

  it('text: the same, with no usage key before the last chunk', async () => {
    const whole = await api.completions.create({ prompt: PROMPT, ...greedy });
    const plain = await all(await api.completions.create({ prompt: PROMPT, ...greedy, stream: true, stream_options: { include_usage: false } }));
    expect(plain.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    const counted = await all(await api.completions.create({ prompt: PROMPT, ...greedy, stream: true, stream_options: { include_usage: true } }));
    expect(counted.at(-1)!.choices).toEqual([]);
    expect(counts(counted.at(-1)!.usage)).toEqual(counts(whole.usage));
    expect(counted.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
  });
});

describe('the developer role and text content parts', () => {
  it('a developer message is the system message the template renders; text parts are the string they join to', async () => {
    const asSystem = await api.chat.completions.create({ messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Tell me a story' }], ...greedy });
    const asDeveloper = await api.chat.completions.create({ messages: [{ role: 'developer', content: 'Be kind.' }, { role: 'user', content: 'Tell me a story' }], ...greedy });
    const asParts = await api.chat.completions.create({
      messages: [{ role: 'developer', content: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'kind.' }] }, { role: 'user', content: [{ type: 'text', text: 'Tell me a story' }] }],
      ...greedy,
    });
    expect(asDeveloper.choices[0].message.content).toBe(asSystem.choices[0].message.content);
    expect(asParts.choices[0].message.content).toBe(asSystem.choices[0].message.content);
    const promptTokens = engine.tokenizer.encodeChat([{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Tell me a story' }], { addGenerationPrompt: true }).length;
    for (const r of [asSystem, asDeveloper, asParts]) expect(r.usage.prompt_tokens).toBe(promptTokens);
    // Against a control: a different system message does change the prompt.
    const other = await api.chat.completions.create({ messages: [{ role: 'user', content: 'Be kind.' }, { role: 'user', content: 'Tell me a story' }], ...greedy });
    expect(other.usage.prompt_tokens).not.toBe(promptTokens);
  });

  it('an image part is refused before anything runs, and the engine goes on', async () => {
    const bad = api.chat.completions.create({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] as never });
    await expect(bad).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'messages[0].content[0].type' });
    expect((await api.completions.create({ prompt: PROMPT, max_tokens: 2 })).usage.completion_tokens).toBe(2);
  });
});

describe('legacy text-completion logprobs', () => {
  it('logprobs: k gives tokens, token_logprobs, top_logprobs (k best + the chosen) and text_offset from the prompt start', async () => {
    const r = await api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 2 });
    const { text } = r.choices[0];
    const lp = r.choices[0].logprobs!;
    const n = r.usage.completion_tokens;
    expect([lp.tokens.length, lp.token_logprobs.length, lp.top_logprobs.length, lp.text_offset.length]).toEqual([n, n, n, n]);
    expect(lp.text_offset[0]).toBe(PROMPT.length);
    lp.text_offset.forEach((o, i) => {
      expect(o).toBeGreaterThanOrEqual(i === 0 ? PROMPT.length : lp.text_offset[i - 1]);
      expect(o).toBeLessThan(PROMPT.length + text.length);
      // The token's text is at its offset (single-token decoding may drop a leading space).
      expect(text.slice(o - PROMPT.length)).toContain(lp.tokens[i]);
    });
    lp.top_logprobs.forEach((top, i) => {
      const entries = Object.entries(top);
      expect(entries.length).toBeGreaterThanOrEqual(1);
      expect(entries.length).toBeLessThanOrEqual(3);
      expect(top[lp.tokens[i]]).toBe(lp.token_logprobs[i]);
      // Greedy: the chosen token is the most likely.
      expect(lp.token_logprobs[i]).toBeCloseTo(Math.max(...entries.map(([, v]) => v)), 5);
    });
    expect('content' in lp).toBe(false);
  });

  it('streamed chunks carry the same logprobs, offsets continuing across chunks', async () => {
    const whole = (await api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 1 })).choices[0].logprobs!;
    const chunks = await all(await api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 1, stream: true }));
    const parts = chunks.flatMap((c) => c.choices.map((ch) => ch.logprobs)).filter((l) => l !== null);
    expect({
      tokens: parts.flatMap((l) => l.tokens),
      token_logprobs: parts.flatMap((l) => l.token_logprobs),
      top_logprobs: parts.flatMap((l) => l.top_logprobs),
      text_offset: parts.flatMap((l) => l.text_offset),
    }).toEqual(whole);
  });

  it('logprobs: 0 still gives the chosen token', async () => {
    const lp = (await api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 0 })).choices[0].logprobs!;
    lp.top_logprobs.forEach((top, i) => expect(top).toEqual({ [lp.tokens[i]]: lp.token_logprobs[i] }));
  });
});

describe('model', () => {
  it("is checked against the loaded model: its name passes, another is an InvalidParamsError naming model", async () => {
    const ok = await api.completions.create({ prompt: PROMPT, max_tokens: 2, model: 'stories260K' });
    expect(ok.model).toBe(engine.modelName());
    await expect(api.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], model: 'gpt-4o' })).rejects.toBeInstanceOf(InvalidParamsError);
    await expect(api.completions.create({ prompt: PROMPT, model: 'stories15M', stream: true })).rejects.toMatchObject({ param: 'model' });
    await engine.idle();
    expect(engine.stats().kv.blocksUsed).toBe(0);
    expect((await api.completions.create({ prompt: PROMPT, max_tokens: 2, model: null })).usage.completion_tokens).toBe(2);
  });
});
