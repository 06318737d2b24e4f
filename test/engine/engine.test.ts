import { describe, expect, it } from 'vitest';
import { AbortError, ContextLengthError, InvalidParamsError } from '../../src/errors.ts';
import { type AdmissionReserve, NO_RESERVE } from '../../src/scheduler/reserve.ts';
import { cpuEngine, storyPrompt } from './engineHarness.ts';

async function streamText(stream: AsyncIterable<{ choices: { text: string }[] }>): Promise<string> {
  let text = '';
  for await (const chunk of stream) for (const c of chunk.choices) text += c.text;
  return text;
}

describe('engine (CPU backend, stories260K)', () => {
  it('eight concurrent streaming requests each produce exactly their greedy tokens alone', async () => {
    const { api } = await cpuEngine();
    const prompts = Array.from({ length: 8 }, (_, i) => storyPrompt(i, 3 + i * 5));
    const alone: string[] = [];
    for (const prompt of prompts) {
      const r = await api.completions.create({ prompt, max_tokens: 24, temperature: 0 });
      alone.push(r.choices[0].text);
    }
    const together = await Promise.all(
      prompts.map(async (prompt) => streamText(await api.completions.create({ prompt, max_tokens: 24, temperature: 0, stream: true }))),
    );
    expect(together).toEqual(alone);
    expect(new Set(alone).size).toBeGreaterThan(1);
  });

  it('a second request sharing a 200-token prefix reports >= 192 cached prompt tokens', async () => {
    const { engine, api } = await cpuEngine();
    const shared = engine.tokenizer.decode(engine.tokenizer.encode(storyPrompt(42, 400), { addBos: false }).slice(0, 199));
    const first = await api.completions.create({ prompt: shared + ' Lily', max_tokens: 4, temperature: 0 });
    const second = await api.completions.create({ prompt: shared + ' Tom and the dog', max_tokens: 4, temperature: 0 });
    expect(first.usage.prompt_tokens).toBeGreaterThanOrEqual(200);
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(192);
  });

  it('n=4 holds at most the prompt blocks plus 4 x (generated blocks + 1)', async () => {
    const { engine, api } = await cpuEngine();
    const ids = engine.tokenizer.encode(storyPrompt(7, 400)).slice(0, 256);
    const prompt = engine.tokenizer.decode(ids, { skipSpecial: true });
    let peak = 0;
    const stream = await api.completions.create({ prompt, n: 4, max_tokens: 20, temperature: 1, seed: 3, stream: true });
    const texts = ['', '', '', ''];
    for await (const chunk of stream) {
      peak = Math.max(peak, engine.scheduler.stats().blocksUsed);
      for (const c of chunk.choices) texts[c.index] += c.text;
    }
    const promptTokens = engine.tokenizer.encode(prompt).length;
    expect(peak).toBeLessThanOrEqual(Math.ceil(promptTokens / 16) + 4 * (Math.ceil(20 / 16) + 1));
    expect(new Set(texts).size).toBeGreaterThan(1);
  });

  it('with KV room for fewer tokens than the requests need together, all finish with unchanged greedy outputs', async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => storyPrompt(100 + i, 20));
    const run = async (maxBlocks: number, reserve?: AdmissionReserve) => {
      const { engine, api } = await cpuEngine({ maxBlocks, reserve });
      const out = await Promise.all(prompts.map((prompt) => api.completions.create({ prompt, max_tokens: 40, temperature: 0 })));
      return { texts: out.map((r) => r.choices[0].text), preemptions: engine.stats().requests.preemptions };
    };
    const roomy = await run(256);
    // Each request needs ~4 blocks; six need ~24. Admitting regardless of the running
    // sequences' growth preempts; the default reserve waits instead.
    const tight = await run(10, NO_RESERVE);
    const reserved = await run(10);
    expect(tight.texts).toEqual(roomy.texts);
    expect(reserved.texts).toEqual(roomy.texts);
    expect(tight.preemptions).toBeGreaterThan(0);
    expect(reserved.preemptions).toBe(0);
    expect(roomy.preemptions).toBe(0);
  });

  it('100 streams aborted at random points leave zero blocks held', async () => {
    const { engine, api } = await cpuEngine({ maxBlocks: 128 });
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const controller = new AbortController();
        const stopAfter = Math.floor(rand() * 8);
        const stream = await api.completions.create({ prompt: storyPrompt(i, 5 + (i % 20)), max_tokens: 30, stream: true, seed: i }, { signal: controller.signal });
        let chunks = 0;
        try {
          for await (const _ of stream) if (++chunks > stopAfter) controller.abort();
        } catch (e) {
          expect(e).toBeInstanceOf(AbortError);
        }
      }),
    );
    await engine.idle();
    expect(engine.scheduler.stats().blocksUsed).toBe(0);
    // Still usable afterwards.
    const r = await api.completions.create({ prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    expect(r.choices[0].text.length).toBeGreaterThan(0);
  });

  it('stop strings end a choice without showing the stop string', async () => {
    const { api } = await cpuEngine();
    const full = await api.completions.create({ prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
    const text = full.choices[0].text;
    const stop = text.slice(10, 14);
    const cut = await api.completions.create({ prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop });
    expect(cut.choices[0].text).toBe(text.slice(0, text.indexOf(stop)));
    expect(cut.choices[0].finish_reason).toBe('stop');
    expect(full.choices[0].finish_reason).toBe('length');
  });

  it('chat completions run the plain chat format and report usage and logprobs', async () => {
    const { api } = await cpuEngine();
    const r = await api.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
    expect(r.choices[0].message.role).toBe('assistant');
    expect(r.usage.completion_tokens).toBe(8);
    const lp = r.choices[0].logprobs!.content;
    expect(lp).toHaveLength(8);
    for (const t of lp) {
      expect(t.top_logprobs).toHaveLength(2);
      expect(t.logprob).toBeCloseTo(t.top_logprobs[0].logprob, 5); // greedy picks the most likely
    }
  });

  it('refuses invalid parameters before allocating anything, and stays usable', async () => {
    const { engine, api } = await cpuEngine();
    await expect(api.completions.create({ prompt: 'x', temperature: -1 })).rejects.toThrow(InvalidParamsError);
    await expect(api.completions.create({ prompt: 'x', n: 0 })).rejects.toThrow(/n: must be/);
    await expect(api.completions.create({ prompt: 'x', max_tokens: 'ten' as unknown as number })).rejects.toThrow(InvalidParamsError);
    await expect(api.completions.create({ prompt: 'x', bogus: 1 } as never)).rejects.toThrow(/bogus/);
    await expect(api.completions.create({ prompt: storyPrompt(1, 600), max_tokens: 10 })).rejects.toThrow(ContextLengthError);
    expect(engine.scheduler.stats().blocksUsed).toBe(0);
    const r = await api.completions.create({ prompt: 'Once upon a time', max_tokens: 3, temperature: 0 });
    expect(r.usage.completion_tokens).toBe(3);
  });
});
