import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../../src/browser/chromium.ts';
import { startDevServer } from '../../src/browser/devServer.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { storyPrompt } from '../engine/engineHarness.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { type ModelServer, startModelServer } from './modelServer.ts';

const WEIGHTS = 'model.safetensors';
const SIZE = readFileSync(`${DEFAULT_MODEL}/${WEIGHTS}`).length;

/**
 * IndexedDB caches in headless Chromium: the page (Vite dev server, localhost) loads the model
 * from a local HF-layout server on another origin; the profile is kept on disk, so IndexedDB
 * survives reloads and relaunches.
 */
describe('IndexedDB weight cache and persistent prefix KV, in Chromium', () => {
  let models: ModelServer;
  let dev: { url: string; server: ViteDevServer };
  let browser: Chromium;
  let page: Page;
  let profile: string;
  let system = '';

  async function openPage(): Promise<void> {
    browser = await launchChromium({ userDataDir: profile });
    page = await browser.context.newPage();
    await page.goto(`${dev.url}/test/browser/harness.html`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  }

  async function reload(): Promise<void> {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  }

  /** createEngine in the page, a short greedy completion, the info and progress events. */
  function load(model: string, extra: { backend?: 'cpu' | 'webgpu'; cache?: object | false; prompt?: string; maxTokens?: number } = {}) {
    return page.evaluate(
      async ({ model, backend, cache, prompt, maxTokens }) => {
        const progress: { file: string; bytesLoaded?: number; bytesTotal?: number; fromCache?: boolean; warning?: string; filesDone: number; filesTotal: number }[] = [];
        const engine = await window.folio.createEngine({ model, backend, cache: cache as never, onProgress: (p) => progress.push(p) });
        const out = await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 });
        const list = await engine.cache.list();
        engine.dispose();
        return { info: engine.info, progress, text: out.choices[0].text, usage: out.usage, list };
      },
      { model, backend: extra.backend ?? 'cpu', cache: extra.cache ?? { chunkBytes: 128 * 1024 }, prompt: extra.prompt ?? 'Once upon a time', maxTokens: extra.maxTokens ?? 8 },
    );
  }

  beforeAll(async () => {
    models = await startModelServer(DEFAULT_MODEL);
    dev = await startDevServer();
    profile = mkdtempSync(join(tmpdir(), 'folio-storage-'));
    await openPage();
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu' });
    for (let words = 128; engine.tokenizer.encode(system).length < 256; words += 2) system = storyPrompt(11, words);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.server.close();
    await models?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });
  beforeEach(() => {
    models.log.length = 0;
  });

  it('1. the first load downloads with byte progress; after a reload it makes no request to the model server', async () => {
    const url = models.urlFor('t1/stories260K');
    const first = await load(url);
    expect(first.info.fromCache).toBe(false);
    expect(models.log.filter((r) => r.file === WEIGHTS && r.method === 'GET')).toHaveLength(1);
    const bytes = first.progress.filter((p) => p.file === WEIGHTS && p.bytesLoaded !== undefined);
    expect(bytes.length).toBeGreaterThan(3);
    expect(bytes.at(-1)).toMatchObject({ bytesLoaded: SIZE, bytesTotal: SIZE, fromCache: false });
    expect(first.list.find((m) => m.model === url)).toMatchObject({ complete: true, bytes: expect.any(Number) });

    await reload();
    models.log.length = 0;
    const second = await load(url);
    expect(models.log).toEqual([]);
    expect(second.info.fromCache).toBe(true);
    expect(second.info.network.requests).toBe(0);
    expect(second.progress.some((p) => p.file === WEIGHTS && p.fromCache)).toBe(true);
    expect(second.text).toBe(first.text);
  }, 120_000);

  it('2. a download cut half-way resumes with a Range request; bytes fetched in all are the file size', async () => {
    const url = models.urlFor('t2/stories260K');
    models.cutNext(WEIGHTS, Math.floor(SIZE / 2));
    const r = await load(url);
    const gets = models.log.filter((x) => x.file === WEIGHTS && x.method === 'GET');
    expect(gets.map((g) => g.status)).toEqual([200, 206]);
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(gets[1].range!)![1]);
    expect(resumedAt).toBeGreaterThan(0);
    const total = gets.reduce((n, g) => n + g.bytes, 0);
    expect(total).toBeLessThanOrEqual(SIZE + 128 * 1024);
    expect(total).toBeGreaterThanOrEqual(SIZE);
    expect(r.usage.completion_tokens).toBe(8);
    console.log(`resume: cut at ${Math.floor(SIZE / 2)}, resumed at ${resumedAt}, fetched ${total} of ${SIZE} bytes`);
  }, 120_000);

  it('3. a corrupted weight chunk in IndexedDB is detected and fetched again', async () => {
    const url = models.urlFor('t3/stories260K');
    const first = await load(url);
    const corrupted = await page.evaluate(async (prefix) => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('folio-weights');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const store = () => db.transaction('entries', 'readwrite').objectStore('entries');
      const keys = await new Promise<IDBValidKey[]>((res) => {
        const r = store().getAllKeys();
        r.onsuccess = () => res(r.result);
      });
      const key = keys.map(String).find((k) => k.startsWith(prefix))!;
      const value = await new Promise<Uint8Array>((res) => {
        const r = store().get(key);
        r.onsuccess = () => res(r.result as Uint8Array);
      });
      value[1234] ^= 0x5a;
      await new Promise((res) => {
        const r = store().put(value, key);
        r.onsuccess = res;
      });
      db.close();
      return key;
    }, `c:${url}|${WEIGHTS}|`);
    expect(corrupted).toContain(WEIGHTS);
    models.log.length = 0;
    const second = await load(url);
    expect(second.progress.some((p) => /checksum/.test(p.warning ?? ''))).toBe(true);
    expect(models.log.filter((x) => x.file === WEIGHTS && x.method === 'GET')).toHaveLength(1);
    expect(second.text).toBe(first.text);
    models.log.length = 0;
    await load(url);
    expect(models.log).toEqual([]);
  }, 120_000);

  it('4. after a relaunch, a pinned 256-token system prompt is restored from IndexedDB (WebGPU): cached, same greedy output', async () => {
    const url = models.urlFor('t4/stories260K');
    const pinned = await page.evaluate(
      async ({ model, system }) => {
        const engine = await window.folio.createEngine({ model, backend: 'webgpu', cache: {} });
        const t0 = performance.now();
        const pin = await engine.pinPrefix(system);
        const ms = performance.now() - t0;
        const map = await engine.kvMap();
        engine.dispose();
        return { pin, ms, persisted: map.filter((c) => c.persisted).length };
      },
      { model: url, system },
    );
    expect(pinned.pin.tokens).toBeGreaterThanOrEqual(256);
    expect(pinned.pin.persisted).toBe(pinned.pin.blocks);
    expect(pinned.persisted).toBe(pinned.pin.blocks);

    await browser.close();
    await openPage();
    const prompt = `${system} Lily saw a big red ball.`;
    const run = (cache: object | false) =>
      page.evaluate(
        async ({ model, prompt, cache }) => {
          const engine = await window.folio.createEngine({ model, backend: 'webgpu', cache: cache as never });
          const t0 = performance.now();
          const out = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0 });
          const ms = performance.now() - t0;
          const stats = await engine.stats();
          const map = await engine.kvMap();
          engine.dispose();
          return { text: out.choices[0].text, usage: out.usage, ms, stats, persisted: map.filter((c) => c.persisted).length };
        },
        { model: url, prompt, cache },
      );
    models.log.length = 0;
    const warm = await run({});
    expect(models.log).toEqual([]);
    const cold = await run(false);
    expect(warm.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(240);
    expect(cold.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(warm.text).toBe(cold.text);
    expect(warm.stats.persistence?.blocksRestored).toBeGreaterThanOrEqual(15);
    expect(warm.persisted).toBeGreaterThanOrEqual(15);
    console.log(
      `pin ${pinned.pin.tokens} tokens (${pinned.pin.blocks} blocks) in ${pinned.ms.toFixed(0)} ms; after relaunch: cached ${warm.usage.prompt_tokens_details.cached_tokens}/${warm.usage.prompt_tokens} prompt tokens, request ${warm.ms.toFixed(0)} ms warm vs ${cold.ms.toFixed(0)} ms cold`,
    );
  }, 240_000);

  it('5. a full quota (QuotaExceededError) does not stop loading or generation', async () => {
    const url = models.urlFor('t5/stories260K');
    const r = await page.evaluate(
      async ({ model, system }) => {
        const warnings: string[] = [];
        const engine = await window.folio.createEngine({ model, backend: 'cpu', cache: { simulateQuotaBytes: 200_000, chunkBytes: 64 * 1024 }, onProgress: (p) => p.warning && warnings.push(p.warning) });
        const pin = await engine.pinPrefix(system);
        const out = await engine.completions.create({ prompt: `${system} Tom`, max_tokens: 4, temperature: 0 });
        const stats = await engine.stats();
        engine.dispose();
        return { warning: engine.info.warning, warnings, pin, tokens: out.usage.completion_tokens, persistence: stats.persistence };
      },
      { model: url, system: system.split(' ').reverse().join(' ') },
    );
    expect(r.warning).toMatch(/quota/);
    expect(r.warnings.some((w) => /quota/.test(w))).toBe(true);
    expect(r.tokens).toBe(4);
    // Blocks of about 20 KB each: some fit the 200 KB quota, the rest are refused, quietly.
    expect(r.pin.persisted).toBeLessThan(r.pin.blocks);
    expect(r.persistence?.warning).toMatch(/quota/);
  }, 120_000);

  it('6. a draft model (speculative.draftModel) is cached beside the model: a second createEngine reads both from IndexedDB', async () => {
    const [model, draft] = [models.urlFor('t6/stories260K'), models.urlFor('t6/draft')];
    const run = () =>
      page.evaluate(
        async ({ model, draft }) => {
          const engine = await window.folio.createEngine({ model, backend: 'cpu', cache: { chunkBytes: 128 * 1024 }, speculative: { draftModel: draft } });
          const out = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0, speculative: { method: 'draft', draft_model: draft } });
          const list = await engine.cache.list();
          engine.dispose();
          return { text: out.choices[0].text, counts: out.usage.speculative, list: list.map((m) => [m.model, m.complete]), warning: engine.info.warning };
        },
        { model, draft },
      );
    const first = await run();
    expect(models.log.filter((r) => r.file === WEIGHTS && r.method === 'GET')).toHaveLength(2);
    expect(first.counts!.drafted_tokens).toBeGreaterThan(0);
    expect(first.list).toEqual(expect.arrayContaining([[model, true], [draft, true]]));
    models.log.length = 0;
    const second = await run();
    expect(models.log).toEqual([]);
    expect(second.text).toBe(first.text);
    expect(second.counts).toEqual(first.counts);
    expect(second.warning).toBeNull();
  }, 120_000);
});
