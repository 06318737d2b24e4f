import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyPrompt } from '../engine/engineHarness.ts';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

/**
 * Issue 10's load test, through the public API: the engine in its Web Worker on WebGPU
 * (SwiftShader) in headless Chromium, with 24 KV blocks. 300 streaming requests with n of 1 to
 * 3, at most 100 at once (100 clients, three requests each); 200 of them, chosen at random, are
 * aborted at a random point (before create() settles, or after some chunks). Every request that
 * is not aborted must equal its prompt's output alone; every error must be one of Folio's typed
 * ones; no block may be held at the end.
 */
describe('load: 100 concurrent streams, n of 1 to 3, 24 KV blocks, 200 random aborts (Chromium, WebGPU worker)', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser();
  });
  afterAll(async () => s?.close());

  it('non-aborted requests equal their solo outputs, errors are typed, 0 blocks held at the end', async () => {
    const prompts = Array.from({ length: 12 }, (_, i) => storyPrompt(200 + i, 4 + ((i * 5) % 13)));
    const r = await s.page.evaluate(
      async ({ prompts }) => {
        const api = window.folio;
        const engine = await api.createEngine({ model: '/models/stories260K', backend: 'webgpu', kv: { maxBlocks: 24 }, cache: false });
        try {
          const maxTokens = 10;
          const alone: string[] = [];
          for (const prompt of prompts) alone.push((await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text);
          let seed = 12345;
          const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
          const clients = 100;
          const perClient = 3;
          const total = clients * perClient;
          // Which 200 of the 300 are aborted, and when: -1 while create() is pending, else after that many chunks.
          const order = Array.from({ length: total }, (_, i) => i).sort(() => rand() - 0.5);
          const abortAt = new Map(order.slice(0, 200).map((i) => [i, Math.floor(rand() * 5) - 1]));
          type Outcome = { i: number; prompt: number; n: number; texts: string[] | null; aborted: boolean; error: null | { name: string; code: unknown; typed: boolean; message: string } };
          const run = async (i: number): Promise<Outcome> => {
            const prompt = i % prompts.length;
            const n = 1 + (i % 3);
            const at = abortAt.get(i);
            const controller = new AbortController();
            const texts = Array.from({ length: n }, () => '');
            const out: Outcome = { i, prompt, n, texts: null, aborted: at !== undefined, error: null };
            try {
              const pending = engine.completions.create({ prompt: prompts[prompt], n, max_tokens: maxTokens, temperature: 0, stream: true }, { signal: controller.signal });
              if (at === -1) controller.abort();
              const stream = await pending;
              let chunks = 0;
              for await (const chunk of stream) {
                for (const c of chunk.choices) texts[c.index] += c.text;
                if (at !== undefined && ++chunks > at) controller.abort();
              }
              out.texts = texts;
            } catch (e) {
              const err = e as Error & { code?: unknown };
              out.error = { name: err.name, code: err.code, typed: err instanceof api.FolioError, message: err.message };
            }
            return out;
          };
          const t0 = performance.now();
          const outcomes = (
            await Promise.all(
              Array.from({ length: clients }, async (_, c) => {
                const mine: Outcome[] = [];
                for (let k = 0; k < perClient; k++) mine.push(await run(c * perClient + k));
                return mine;
              }),
            )
          ).flat();
          const ms = performance.now() - t0;
          // An aborted request's blocks are freed within a step or so of its abort.
          let stats = await engine.stats();
          for (let tries = 0; tries < 50 && (stats.requests.running + stats.requests.waiting > 0 || stats.kv.blocksUsed > 0); tries++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            stats = await engine.stats();
          }
          return { alone, outcomes, ms, blocksUsed: stats.kv.blocksUsed, running: stats.requests.running + stats.requests.waiting, preemptions: stats.requests.preemptions, backend: engine.info.backend };
        } finally {
          engine.dispose();
        }
      },
      { prompts },
    );
    expect(r.backend).toBe('webgpu');
    const untyped = r.outcomes.filter((o) => o.error && !o.error.typed);
    expect(untyped).toEqual([]);
    // Only aborts end requests, and only with AbortError.
    expect(r.outcomes.filter((o) => o.error && (!o.aborted || o.error.name !== 'AbortError' || o.error.code !== 'ABORTED'))).toEqual([]);
    const finished = r.outcomes.filter((o) => !o.aborted);
    expect(finished).toHaveLength(100);
    for (const o of finished) expect({ i: o.i, texts: o.texts }).toEqual({ i: o.i, texts: Array.from({ length: o.n }, () => r.alone[o.prompt]) });
    expect(r.outcomes.filter((o) => o.aborted && o.error).length).toBeGreaterThan(150);
    expect(r.preemptions).toBeGreaterThan(0);
    expect(r.running).toBe(0);
    expect(r.blocksUsed).toBe(0);
    console.log(`load phase: ${Math.round(r.ms)} ms`);
  });
});
