import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED } from '../paths.ts';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { text: string; prompt: string; next_ids: number[] };

describe('engine in a Web Worker through Comlink, in headless Chromium', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser();
  });
  afterAll(async () => s?.close());

  for (const backend of ['cpu', 'webgpu'] as const) {
    it(`${backend}: greedy output of the fixture prompt equals the llama2.c reference`, async () => {
      const r = await s.page.evaluate(
        async ({ backend, prompt, maxTokens }) => {
          const engine = await window.folio.createEngine({ model: '/models/stories260K', backend });
          const out = await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 });
          const info = engine.info;
          engine.dispose();
          return { text: out.choices[0].text, usage: out.usage, info };
        },
        { backend, prompt: fixture.prompt, maxTokens: fixture.next_ids.length - 4 },
      );
      expect(r.info.backend).toBe(backend);
      expect(fixture.prompt + r.text).toBe(fixture.text);
      expect(r.usage.completion_tokens).toBe(fixture.next_ids.length - 4);
    });
  }

  it('typed errors cross the worker boundary with their class and message', async () => {
    const r = await s.page.evaluate(async () => {
      const api = window.folio;
      const engine = await api.createEngine({ model: '/models/stories260K', backend: 'cpu' });
      try {
        await engine.completions.create({ prompt: 'x', temperature: -1 });
        return null;
      } catch (e) {
        const ok = e instanceof api.InvalidParamsError && e instanceof api.FolioError;
        // The engine is still usable afterwards.
        const after = await engine.completions.create({ prompt: 'Once', max_tokens: 2, temperature: 0 });
        engine.dispose();
        return { ok, name: (e as Error).name, message: (e as Error).message, code: (e as { code: string }).code, after: after.usage.completion_tokens };
      }
    });
    expect(r).toEqual({ ok: true, name: 'InvalidParamsError', message: 'temperature: must be a finite number >= 0, got -1', code: 'INVALID_PARAMS', after: 2 });
  });
});
