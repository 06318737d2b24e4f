import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { storyPrompt } from '../engine/engineHarness.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

// test/engine/engine.test.ts's behaviours, through the public API: the engine in its Web
// Worker behind Comlink, on the WebGPU backend (SwiftShader), in headless Chromium. Prompts
// are built in Node (page.evaluate callbacks see only window.* globals) and kept small.
const MODEL = '/models/stories260K';

describe('engine in a worker on WebGPU, in headless Chromium (stories260K)', () => {
  let s: BrowserSession;
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    s = await openBrowser();
    const { weights, tokenizerJson, tokenizerConfig } = await loadModel(new FolderSource(DEFAULT_MODEL));
    tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: weights.config.eosTokenIds });
  });
  afterAll(async () => s?.close());

  it('eight concurrent streaming requests each produce exactly their greedy tokens alone', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => storyPrompt(i, 3 + i * 5));
    const r = await s.page.evaluate(
      async ({ model, prompts }) => {
        const engine = await window.folio.createEngine({ model, backend: 'webgpu' });
        try {
          const alone: string[] = [];
          for (const prompt of prompts) {
            const out = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0 });
            alone.push(out.choices[0].text);
          }
          const together = await Promise.all(
            prompts.map(async (prompt) => {
              let text = '';
              const stream = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0, stream: true });
              for await (const chunk of stream) for (const c of chunk.choices) text += c.text;
              return text;
            }),
          );
          return { alone, together, backend: engine.info.backend };
        } finally {
          engine.dispose();
        }
      },
      { model: MODEL, prompts },
    );
    expect(r.backend).toBe('webgpu');
    expect(r.together).toEqual(r.alone);
    expect(new Set(r.alone).size).toBeGreaterThan(1);
  });

  it('a second request sharing a 200-token prefix reports >= 192 cached prompt tokens', async () => {
    const shared = tokenizer.decode(tokenizer.encode(storyPrompt(42, 400), { addBos: false }).slice(0, 199));
    const r = await s.page.evaluate(
      async ({ model, shared }) => {
        const engine = await window.folio.createEngine({ model, backend: 'webgpu' });
        try {
          const first = await engine.completions.create({ prompt: shared + ' Lily', max_tokens: 4, temperature: 0 });
          const second = await engine.completions.create({ prompt: shared + ' Tom and the dog', max_tokens: 4, temperature: 0 });
          return { first: first.usage, second: second.usage };
        } finally {
          engine.dispose();
        }
      },
      { model: MODEL, shared },
    );
    expect(r.first.prompt_tokens).toBeGreaterThanOrEqual(200);
    expect(r.first.prompt_tokens_details.cached_tokens).toBe(0);
    expect(r.second.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(192);
  });

  it('n=4 with a 256-token prompt holds at most the prompt blocks plus 4 x (generated blocks + 1)', async () => {
    const prompt = tokenizer.decode(tokenizer.encode(storyPrompt(7, 400)).slice(0, 256), { skipSpecial: true });
    const promptTokens = tokenizer.encode(prompt).length;
    const maxTokens = 20;
    const r = await s.page.evaluate(
      async ({ model, prompt, maxTokens }) => {
        const engine = await window.folio.createEngine({ model, backend: 'webgpu' });
        try {
          const samples: number[] = [];
          const texts = ['', '', '', ''];
          const stream = await engine.completions.create({ prompt, n: 4, max_tokens: maxTokens, temperature: 1, seed: 3, stream: true });
          for await (const chunk of stream) {
            samples.push((await engine.stats()).kv.blocksUsed);
            for (const c of chunk.choices) texts[c.index] += c.text;
          }
          return { samples, texts, after: (await engine.stats()).kv.blocksUsed };
        } finally {
          engine.dispose();
        }
      },
      { model: MODEL, prompt, maxTokens },
    );
    const bound = Math.ceil(promptTokens / 16) + 4 * (Math.ceil(maxTokens / 16) + 1);
    console.log(`n=4, ${promptTokens} prompt tokens: peak ${Math.max(...r.samples)} blocks held over ${r.samples.length} samples (bound ${bound})`);
    expect(r.samples.length).toBeGreaterThan(5);
    expect(Math.max(...r.samples)).toBeGreaterThan(Math.ceil(promptTokens / 16) - 1); // the prompt was held while streaming
    expect(Math.max(...r.samples)).toBeLessThanOrEqual(bound);
    expect(new Set(r.texts).size).toBeGreaterThan(1);
    expect(r.after).toBe(0);
  });

  it('with KV room for fewer tokens than the requests need together, all finish with unchanged greedy outputs', async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => storyPrompt(100 + i, 20));
    const r = await s.page.evaluate(
      async ({ model, prompts }) => {
        // No admission reserve: this is about preemption by recompute, which the reserve avoids.
        const run = async (maxBlocks: number) => {
          const engine = await window.folio.createEngine({ model, backend: 'webgpu', kv: { maxBlocks, reserve: { lookaheadSteps: 0, poolFraction: 0 } } });
          try {
            const out = await Promise.all(prompts.map((prompt) => engine.completions.create({ prompt, max_tokens: 40, temperature: 0 })));
            return { texts: out.map((o) => o.choices[0].text), preemptions: (await engine.stats()).requests.preemptions };
          } finally {
            engine.dispose();
          }
        };
        return { roomy: await run(256), tight: await run(10) }; // each request needs ~4 blocks; six need ~24
      },
      { model: MODEL, prompts },
    );
    expect(r.tight.texts).toEqual(r.roomy.texts);
    expect(r.tight.preemptions).toBeGreaterThan(0);
    expect(r.roomy.preemptions).toBe(0);
  });

  it('100 streams aborted at random points leave zero blocks held, and the engine still works', async () => {
    const prompts = Array.from({ length: 100 }, (_, i) => storyPrompt(i, 5 + (i % 20)));
    const r = await s.page.evaluate(
      async ({ model, prompts }) => {
        const folio = window.folio;
        const engine = await folio.createEngine({ model, backend: 'webgpu', kv: { maxBlocks: 128 } });
        try {
          let x = 12345;
          const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          const outcomes = await Promise.all(
            prompts.map(async (prompt, i) => {
              const controller = new AbortController();
              const stopAfter = Math.floor(rand() * 8);
              const stream = await engine.completions.create({ prompt, max_tokens: 30, stream: true, seed: i }, { signal: controller.signal });
              let chunks = 0;
              try {
                for await (const _ of stream) if (++chunks > stopAfter) controller.abort();
                return 'finished';
              } catch (e) {
                return e instanceof folio.AbortError ? 'aborted' : `unexpected ${String(e)}`;
              }
            }),
          );
          // Aborts reach the worker asynchronously: wait for it to go idle.
          let stats = await engine.stats();
          for (let i = 0; i < 200 && stats.requests.running + stats.requests.waiting > 0; i++) {
            await new Promise((r) => setTimeout(r, 25));
            stats = await engine.stats();
          }
          const after = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
          const final = await engine.stats();
          return { outcomes, blocksUsed: stats.kv.blocksUsed, requests: stats.requests, afterText: after.choices[0].text, finalBlocks: final.kv.blocksUsed };
        } finally {
          engine.dispose();
        }
      },
      { model: MODEL, prompts },
    );
    expect(r.outcomes.filter((o) => o !== 'aborted' && o !== 'finished')).toEqual([]);
    expect(r.outcomes.filter((o) => o === 'aborted').length).toBeGreaterThan(50);
    expect(r.requests.running + r.requests.waiting).toBe(0);
    expect(r.blocksUsed).toBe(0);
    expect(r.afterText.length).toBeGreaterThan(0);
    expect(r.finalBlocks).toBe(0);
  });
});
