// Two tabs of the demo app, one engine (issue 18): a SharedWorker by default, a tab's own
// worker with `?shared=0`, and the dedicated fallback where the browser has no SharedWorker;
// then folio.js's shared engines on a plain static site. One browser for all.
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launchChromium } from '../src/browser/chromium.ts';
import { ROOT, startDevServer } from '../src/browser/devServer.ts';
import { servePython } from './pythonServer.ts';

const P1 = 'Once upon a time, there was a little girl named Lily.';
const P2 = 'Once upon a time, there was a big dog.';
const SHORT = 24;
const LONGER = 100;
/** Long enough that the stream is still running when the other tab closes. */
const LONG_A = 400;
const LONG_B = 200;

/** How one tab opens the app: its query, and a script run before the app. */
interface Tab {
  query: string;
  init?: () => void;
}
const SHARED: Tab = { query: '' };
const NOT_SHARED: Tab = { query: '?shared=0' };
/** The forced fallback: the browser has no SharedWorker. */
const NO_SHARED_WORKER: Tab = { query: '', init: () => void Reflect.deleteProperty(globalThis, 'SharedWorker') };

// The dedicated cases run as one pair (tab 1 `shared: false`, tab 2 by the fallback): both run
// their own worker, so every check below covers both, at the cost of one browser's loads.
const MODES: { name: string; tabs: [Tab, Tab] }[] = [
  { name: 'shared (the default)', tabs: [SHARED, SHARED] },
  { name: 'tab 1 with shared: false, tab 2 by the forced fallback', tabs: [NOT_SHARED, NO_SHARED_WORKER] },
];

/** Starts a greedy stream in the page; `window.run[tag]` gathers its text and chunk count. */
function start(page: Page, tag: string, prompt: string, maxTokens: number): Promise<void> {
  return page.evaluate(async ({ tag, prompt, maxTokens }) => {
    type Run = { text: string; chunks: number; done: Promise<string>; first: number; last: number };
    const w = window as unknown as { run?: Record<string, Run> };
    w.run ??= {};
    const run: Run = { text: '', chunks: 0, first: 0, last: 0, done: Promise.resolve('') };
    w.run[tag] = run;
    const stream = await window.folioApp.engine!.completions.create({ prompt, max_tokens: maxTokens, temperature: 0, stream: true });
    run.done = (async () => {
      for await (const c of stream) {
        run.text += c.choices[0]?.text ?? '';
        run.chunks++;
        run.first ||= performance.timeOrigin + performance.now();
        run.last = performance.timeOrigin + performance.now();
      }
      return run.text;
    })();
  }, { tag, prompt, maxTokens });
}

type Finished = { text: string; first: number; last: number };
const finish = (page: Page, tag: string): Promise<Finished> =>
  page.evaluate(async (tag) => {
    const run = (window as unknown as { run: Record<string, { done: Promise<string>; first: number; last: number }> }).run[tag];
    return { text: await run.done, first: run.first, last: run.last };
  }, tag);

const chunks = (page: Page, tag: string) => page.evaluate((tag) => (window as unknown as { run: Record<string, { chunks: number }> }).run[tag].chunks, tag);

/**
 * A prompt's greedy output run alone: run once (in the first mode's tab A) and then expected of
 * every run, whatever the mode, tab or batch.
 */
const solos = new Map<string, Promise<string>>();
function solo(page: Page, prompt: string, maxTokens: number): Promise<string> {
  const key = `${maxTokens}:${prompt}`;
  if (!solos.has(key)) solos.set(key, start(page, 'solo', prompt, maxTokens).then(() => finish(page, 'solo')).then((r) => r.text));
  return solos.get(key)!;
}

/** Blocks the tab `tab` holds in the engine this page uses, as the KV map reports them. */
const blocksOf = (page: Page, tab: string) =>
  page.evaluate(async (tab) => (await window.folioApp.engine!.kvMap()).filter((c) => (c as { tabs?: string[] }).tabs?.includes(tab)).length, tab);

let dev: Awaited<ReturnType<typeof startDevServer>>;
let chromium: Chromium;
/** Weight-file requests the server saw (a SharedWorker's fetches are invisible to Playwright). */
const weightRequests: string[] = [];

// One server and one browser for every mode (a browser start is seconds); the shared mode runs
// first, while the profile's IndexedDB holds no weights yet.
beforeAll(async () => {
  dev = await startDevServer();
  dev.server.httpServer!.prependListener('request', (req: IncomingMessage) => {
    if (req.url?.includes('/models/stories260K/model.safetensors')) weightRequests.push(req.url);
  });
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
  await dev?.server.close();
});

/** Engine workers alive in the browser, by kind, from the DevTools protocol's target list. */
async function workers(): Promise<{ shared: number; dedicated: number }> {
  const cdp = await chromium.context.browser()!.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  await cdp.detach();
  return {
    shared: targetInfos.filter((t) => t.type === 'shared_worker').length,
    dedicated: targetInfos.filter((t) => t.type === 'worker' && t.url.includes('engine.worker')).length,
  };
}

describe.each(MODES)('two tabs of the app: $name', (mode) => {
  const shared = mode.tabs[0] === SHARED;
  let a: Page;
  let b: Page;
  let bLoadSeconds = 0;
  let requestsAfterA = 0;
  const errors: string[] = [];

  const open = async (tab: Tab) => {
    const page = await chromium.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    if (tab.init) await page.addInitScript(tab.init);
    await page.goto(`${dev.url}/index.html${tab.query}`);
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    return page;
  };
  const info = (page: Page) => page.evaluate(() => window.folioApp.engine!.info);

  beforeAll(async () => {
    a = await open(mode.tabs[0]);
    requestsAfterA = weightRequests.length;
    b = await open(mode.tabs[1]);
    bLoadSeconds = Number(/ in ([\d.]+) s /.exec(await b.innerText('.model-picker .status'))?.[1] ?? NaN);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('loads the model once for both tabs when shared, once per tab otherwise', async () => {
    const [infoA, infoB] = [await info(a), await info(b)];
    if (shared) {
      // The first tab fetched the weights; the second fetched nothing.
      expect(requestsAfterA).toBeGreaterThan(0);
      expect(weightRequests).toHaveLength(requestsAfterA);
      expect(await workers()).toEqual({ shared: 1, dedicated: 0 });
      expect(infoA.sharing).toEqual({ mode: 'shared', tab: 'tab 1', attached: false, reason: null });
      expect(infoB.sharing).toEqual({ mode: 'shared', tab: 'tab 2', attached: true, reason: null });
      expect(infoB.network).toEqual({ requests: 0, bytes: 0 });
      // The second tab attached: ready well under a second after asking.
      expect(bLoadSeconds).toBeLessThan(1);
      expect(await b.innerText('.model-picker .status')).toContain('shared with the other tabs as tab 2');
    } else {
      await expect.poll(workers, { timeout: 5_000 }).toEqual({ shared: 0, dedicated: 2 });
      // The second tab's own load: from the network, or from what the first cached in IndexedDB.
      expect(infoB.network.requests > 0 || infoB.fromCache).toBe(true);
      expect(infoA.sharing).toBeUndefined();
      expect(infoB.sharing).toEqual({ mode: 'dedicated', tab: null, attached: false, reason: 'SharedWorker is unavailable in this browser' });
      expect(await b.innerText('.model-picker .status')).toContain("In this tab's own worker: SharedWorker is unavailable in this browser.");
    }
  });

  it('both tabs stream at once, each output equal to its solo run', async () => {
    const soloA = await solo(a, P1, LONGER);
    const soloB = await solo(a, P2, SHORT);
    // B's short request joins while A's longer one decodes: the two batch together.
    await start(a, 'x', P1, LONGER);
    await expect.poll(() => chunks(a, 'x'), { timeout: 20_000, interval: 10 }).toBeGreaterThan(0);
    await start(b, 'x', P2, SHORT);
    const [outA, outB] = await Promise.all([finish(a, 'x'), finish(b, 'x')]);
    expect(outA.text).toBe(soloA);
    expect(outB.text).toBe(soloB);
    expect(soloA).not.toBe(soloB);
    // The two streams overlapped in time.
    expect(outA.first).toBeLessThan(outB.last);
    expect(outB.first).toBeLessThan(outA.last);
  });

  it('a tab closed mid-stream frees its blocks within a second; the other stream completes unchanged', async () => {
    const soloB = await solo(a, P2, LONG_B);
    await start(a, 'long', P1, LONG_A);
    await start(b, 'long', P2, LONG_B);
    await expect.poll(() => chunks(a, 'long'), { timeout: 20_000, interval: 20 }).toBeGreaterThan(3);
    if (shared) {
      // One KV pool: B's map shows A's blocks, named by tab.
      expect(await blocksOf(b, 'tab 1')).toBeGreaterThan(0);
      await b.evaluate(() => window.folioApp.refresh());
      expect(Number(await b.getAttribute('.kv-grid', 'data-other-tabs'))).toBeGreaterThan(0);
      expect(await b.locator('.kv-grid .cell[title*="tab 1 (req-"]').count()).toBeGreaterThan(0);
      const tabs = await b.evaluate(async () => (await window.folioApp.engine!.stats() as { tabs?: { tab: string }[] }).tabs?.map((t) => t.tab));
      expect(tabs).toEqual(['tab 1', 'tab 2']);
    }
    // B is still streaming when A goes.
    expect(await chunks(b, 'long')).toBeLessThan(LONG_B);
    const closed = Date.now();
    await a.close();
    if (shared) {
      await expect.poll(() => blocksOf(b, 'tab 1'), { timeout: 1_000, interval: 25 }).toBe(0);
      expect(Date.now() - closed).toBeLessThan(1_000);
      // The engine still counts B, and only B.
      const tabs = await b.evaluate(async () => (await window.folioApp.engine!.stats() as { tabs?: { tab: string }[] }).tabs?.map((t) => t.tab));
      expect(tabs).toEqual(['tab 2']);
    }
    expect((await finish(b, 'long')).text).toBe(soloB);
    expect(errors).toEqual([]);
  });
});

// A page with folio.js and nothing else (the example's own page starts a <folio-chat> engine).
const PAGE = '<!doctype html><meta charset="utf-8"><script src="folio.js"></script>';

type Engine = { info: { sharing?: unknown }; completions: { create(p: object): Promise<{ choices: { text: string }[] }> }; dispose(): void };
declare const Folio: { createEngine(o: object): Promise<Engine> };
declare global {
  interface Window {
    shared: Engine;
  }
}

describe('folio.js: two pages, one shared engine', () => {
  let site: { url: string; proc: ChildProcess };

  async function open(): Promise<Page> {
    const page = await chromium.context.newPage();
    await page.route(`${site.url}shared.html`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
    await page.goto(`${site.url}shared.html`);
    return page;
  }
  const create = (page: Page) =>
    page.evaluate(async () => {
      const started = performance.now();
      window.shared = await Folio.createEngine({ model: './models/stories260K', shared: { idleTimeoutMs: 300 } });
      return { sharing: window.shared.info.sharing, ms: performance.now() - started };
    });
  const story = (page: Page) => page.evaluate(async () => (await window.shared.completions.create({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 })).choices[0].text);

  beforeAll(async () => {
    site = await servePython(resolve(ROOT, 'examples/script-tag'));
  });
  afterAll(() => {
    site?.proc.kill();
  });

  it('the second page attaches to the first one\'s engine, in folio.js\'s own SharedWorker', async () => {
    const a = await open();
    const b = await open();
    expect((await create(a)).sharing).toEqual({ mode: 'shared', tab: 'tab 1', attached: false, reason: null });
    const second = await create(b);
    expect(second.sharing).toEqual({ mode: 'shared', tab: 'tab 2', attached: true, reason: null });
    expect(second.ms).toBeLessThan(1_000);
    const sharedWorkers = async () => {
      const cdp = await chromium.context.browser()!.newBrowserCDPSession();
      const { targetInfos } = await cdp.send('Target.getTargets');
      await cdp.detach();
      expect(targetInfos.filter((t) => t.type === 'worker')).toEqual([]);
      return targetInfos.filter((t) => t.type === 'shared_worker').map((t) => t.url);
    };
    expect(await sharedWorkers()).toEqual([`${site.url}folio.js`]);
    const text = await story(a);
    expect(text.length).toBeGreaterThan(0);
    expect(await story(b)).toBe(text);

    // Both pages dispose and stay open: once the idle timeout (300 ms here) passes, the engine
    // unloads (its worker closes), and the next page to ask loads it afresh.
    for (const page of [a, b]) await page.evaluate(() => window.shared.dispose());
    await expect.poll(sharedWorkers, { timeout: 5_000, interval: 100 }).toEqual([]);
    expect((await create(b)).sharing).toEqual({ mode: 'shared', tab: 'tab 1', attached: false, reason: null });
    expect(await story(b)).toBe(text);
  });
});
