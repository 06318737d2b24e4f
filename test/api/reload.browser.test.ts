import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, openBrowser } from '../browser/browserHarness.ts';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { cpuEngine } from '../engine/engineHarness.ts';
import { routeGgufFixtures } from '../gguf/ggufFiles.ts';
import { SHARED } from '../paths.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { text: string; prompt: string; next_ids: number[] };
const greedyTokens = fixture.next_ids.length - 4;

/** Issue 13: engine.reload(model) and engine.unload(), through the real worker in Chromium. */
describe('engine.reload() / engine.unload() in headless Chromium', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser();
    await routeGgufFixtures(s.page.context());
  });
  afterAll(async () => s?.close());

  it('same model, webgpu -> cpu: info follows, greedy text equals the fixture before and after, a stream in flight ends with EngineClosedError "reloaded"', async () => {
    const r = await s.page.evaluate(
      async ({ prompt, maxTokens }) => {
        const api = window.folio;
        const engine = await api.createEngine({ model: '/models/stories260K', backend: 'webgpu', cache: false });
        const before = (await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text;
        const backendBefore = engine.info.backend;
        // Four long choices on WebGPU (SwiftShader here) keep the old model busy well past the CPU load.
        const stream = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 480, n: 4, temperature: 0, stream: true });
        let chunks = 0;
        const drained = (async () => {
          try {
            for await (const _ of stream) chunks++;
            return { ended: 'normally', chunks };
          } catch (e) {
            return { ended: (e as Error).name, typed: e instanceof api.EngineClosedError, reason: (e as { reason?: string }).reason, chunks };
          }
        })();
        await engine.reload('/models/stories260K', { backend: 'cpu' });
        const inFlight = await drained;
        const after = (await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text;
        const backendAfter = engine.info.backend;
        const stats = await engine.stats();
        engine.dispose();
        return { before, after, backendBefore, backendAfter, inFlight, statsOk: typeof stats === 'object' && stats !== null };
      },
      { prompt: fixture.prompt, maxTokens: greedyTokens },
    );
    expect(r.backendBefore).toBe('webgpu');
    expect(r.backendAfter).toBe('cpu');
    expect(fixture.prompt + r.before).toBe(fixture.text);
    expect(fixture.prompt + r.after).toBe(fixture.text);
    expect(r.inFlight).toMatchObject({ ended: 'EngineClosedError', typed: true, reason: 'reloaded' });
    expect(r.inFlight.chunks).toBeLessThan(4 * 480);
    expect(r.statsOk).toBe(true);
  });

  it('stories260K -> the same model as GGUF (F32): later calls go to the GGUF model, with the fixture text', async () => {
    const r = await s.page.evaluate(async ({ prompt }) => {
      const engine = await window.folio.createEngine({ model: '/models/stories260K', backend: 'cpu', cache: false });
      const nameBefore = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }).then((c) => c.model, (e: Error) => `error ${e.name}`);
      await engine.reload('/gguf-fixtures/stories260K-F32.gguf');
      const out = await engine.completions.create({ prompt, max_tokens: 60, temperature: 0 });
      const info = engine.info;
      engine.dispose();
      return { text: out.choices[0].text, model: out.model, nameBefore, backend: info.backend };
    }, { prompt: fixture.prompt });
    // The response names the loaded model: the GGUF file now, not the folder before.
    expect(r.model).toMatch(/stories260K-F32\.gguf$/);
    expect(r.model).not.toBe(r.nameBefore);
    expect(r.backend).toBe('cpu'); // createEngine's options carry over to the reload
    expect(fixture.text.startsWith(fixture.prompt + r.text)).toBe(true);
    expect(r.text.length).toBeGreaterThan(100);
  });

  it('unload(): a stream in flight and later calls reject with EngineClosedError "unloaded" that says to reload; reload() then works', async () => {
    const r = await s.page.evaluate(
      async ({ prompt, maxTokens }) => {
        const api = window.folio;
        const describe = (e: unknown) => ({ typed: e instanceof api.EngineClosedError, name: (e as Error).name, reason: (e as { reason?: string }).reason, message: (e as Error).message });
        const engine = await api.createEngine({ model: '/models/stories260K', backend: 'cpu', cache: false });
        const stream = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 480, n: 4, temperature: 0, stream: true });
        const drained = (async () => {
          try {
            for await (const _ of stream);
            return null;
          } catch (e) {
            return describe(e);
          }
        })();
        await engine.unload();
        const inFlight = await drained;
        const later = await engine.completions.create({ prompt, max_tokens: 4 }).then(() => null, describe);
        const stats = await engine.stats().then(() => null, describe);
        await engine.unload(); // twice is fine
        await engine.reload('/models/stories260K');
        const text = (await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text;
        engine.dispose();
        const afterDispose = await engine.completions.create({ prompt, max_tokens: 4 }).then(() => null, describe);
        const reloadAfterDispose = await engine.reload('/models/stories260K').then(() => null, describe);
        return { inFlight, later, stats, text, afterDispose, reloadAfterDispose };
      },
      { prompt: fixture.prompt, maxTokens: greedyTokens },
    );
    expect(r.inFlight).toMatchObject({ typed: true, name: 'EngineClosedError', reason: 'unloaded' });
    expect(r.later).toMatchObject({ typed: true, reason: 'unloaded', message: expect.stringContaining('engine.reload(model)') });
    expect(r.stats).toMatchObject({ typed: true, reason: 'unloaded' });
    expect(fixture.prompt + r.text).toBe(fixture.text);
    expect(r.afterDispose).toMatchObject({ typed: true, reason: 'disposed' });
    expect(r.reloadAfterDispose).toMatchObject({ typed: true, reason: 'disposed' });
  });

  it('a failed reload (bad URL) rejects typed and leaves the old model loaded and usable; with unloadFirst it leaves the engine unloaded', async () => {
    const r = await s.page.evaluate(
      async ({ prompt, maxTokens }) => {
        const api = window.folio;
        const describe = (e: unknown) => ({ folio: e instanceof api.FolioError, name: (e as Error).name, reason: (e as { reason?: string }).reason });
        const engine = await api.createEngine({ model: '/models/stories260K', backend: 'cpu', cache: false });
        const info = engine.info;
        const failed = await engine.reload('/models/no-such-model').then(() => null, describe);
        const sameInfo = engine.info === info;
        const text = (await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text;
        const failedFirst = await engine.reload('/models/no-such-model', { unloadFirst: true }).then(() => null, describe);
        const after = await engine.completions.create({ prompt, max_tokens: 4 }).then(() => null, describe);
        await engine.reload('/models/stories260K');
        const again = (await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 })).choices[0].text;
        engine.dispose();
        return { failed, sameInfo, text, failedFirst, after, again };
      },
      { prompt: fixture.prompt, maxTokens: greedyTokens },
    );
    expect(r.failed?.folio).toBe(true);
    expect(r.failed?.name).not.toBe('EngineClosedError');
    expect(r.sameInfo).toBe(true);
    expect(fixture.prompt + r.text).toBe(fixture.text);
    expect(r.failedFirst).toMatchObject({ folio: true, name: r.failed?.name });
    expect(r.after).toMatchObject({ folio: true, name: 'EngineClosedError', reason: 'unloaded' });
    expect(fixture.prompt + r.again).toBe(fixture.text);
  });

  it('a reload() superseded by another ends with AbortError; the later one wins', async () => {
    const r = await s.page.evaluate(async () => {
      const api = window.folio;
      const engine = await api.createEngine({ model: '/models/stories260K', backend: 'cpu', cache: false });
      const first = engine.reload('/models/stories260K', { backend: 'webgpu' }).then(() => null, (e: Error) => ({ name: e.name, abort: e instanceof api.AbortError }));
      await engine.reload('/models/stories260K', { backend: 'cpu' });
      const backend = engine.info.backend;
      const out = await engine.completions.create({ prompt: 'Once', max_tokens: 2, temperature: 0 });
      engine.dispose();
      return { first: await first, backend, tokens: out.usage.completion_tokens };
    });
    expect(r.first).toEqual({ name: 'AbortError', abort: true });
    expect(r.backend).toBe('cpu');
    expect(r.tokens).toBe(2);
  });
});

describe('an in-process FolioEngine (Node)', () => {
  it('reload() rejects with InvalidParamsError and the engine keeps its model; unload() then rejects calls "unloaded"', async () => {
    const { engine: inProcess } = await cpuEngine();
    let freed = 0;
    const engine = new FolioEngine(inProcess, () => freed++);
    await expect(engine.reload('/models/stories260K')).rejects.toBeInstanceOf(InvalidParamsError);
    const out = await engine.completions.create({ prompt: fixture.prompt, max_tokens: greedyTokens, temperature: 0 });
    expect(fixture.prompt + out.choices[0].text).toBe(fixture.text);
    await engine.unload();
    expect(freed).toBe(1);
    await expect(engine.completions.create({ prompt: 'Once', max_tokens: 2 })).rejects.toMatchObject({ name: 'EngineClosedError', reason: 'unloaded' });
  });
});
