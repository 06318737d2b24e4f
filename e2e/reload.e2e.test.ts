// The demo app across a reload and a relaunch of Chromium on the same profile: the weights come
// from IndexedDB with no request for model files, and a prefix pinned on the first visit is
// restored from IndexedDB instead of recomputed, with the same greedy output.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../src/browser/devServer.ts';
import { openPage, type PageSession } from './session.ts';

const PANE = '.pane[data-pane="0"]';
const BLOCKS = 64;
const MAX_TOKENS = 24;
/** A story opening of about a hundred tokens: the shared prefix. */
const PREFIX =
  'Once upon a time, there was a little girl named Lily. She lived in a small house with her mom and dad. ' +
  'Every day, Lily liked to play in the big green park near her house. One sunny day, she saw a little bird ' +
  'sitting on a tree. The bird was sad because it could not fly.';
const PROMPT = `${PREFIX} Lily wanted to help the bird.`;

interface Visit {
  text: string;
  cachedTokens: number;
  promptTokens: number;
}

describe('demo app: reload and relaunch on one profile', () => {
  let dev: { url: string; server: ViteDevServer };
  let profile: string;
  let s: PageSession;
  /** Requests for model files (the worker's fetches included), since the last reset. */
  let modelRequests: string[] = [];
  let first: Visit;

  async function open(): Promise<void> {
    s = await openPage('about:blank', async () => {}, { userDataDir: profile });
    s.chromium.context.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/models/')) modelRequests.push(r.url());
    });
    // The tab's own worker (`shared=0`): Playwright sees a dedicated worker's fetches, not a SharedWorker's.
    await s.page.goto(`${dev.url}/index.html?autoload=0&shared=0`);
  }

  /** Loads the default model through the picker and returns what the engine says of the load. */
  async function load(page: Page) {
    await page.fill('input[name=blocks]', String(BLOCKS));
    await page.click('.model-picker button[type=submit]');
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 90_000 });
    return page.evaluate(() => ({ info: window.folioApp.engine!.info, events: window.folioApp.loadEvents }));
  }

  /** Greedy settings, then the prompt in pane 1; resolves with the output and the usage. */
  async function send(page: Page, prompt: string): Promise<Visit> {
    await page.fill('input[name=temperature]', '0');
    await page.fill('input[name=max_tokens]', String(MAX_TOKENS));
    await page.fill(`${PANE} textarea`, prompt);
    await page.click(`${PANE} .send`);
    await page.waitForSelector(`${PANE}[data-state=idle] .turn:last-child[data-finish]`, { timeout: 90_000 });
    const usage = await page.evaluate(() => window.folioApp.panes[0].last!.usage!);
    await page.evaluate(() => window.folioApp.refresh());
    return {
      text: await page.innerText(`${PANE} .turn:last-child .gen`),
      cachedTokens: usage.prompt_tokens_details.cached_tokens,
      promptTokens: usage.prompt_tokens,
    };
  }

  /** After a reload or relaunch: the model loads from IndexedDB, the prefix is restored from it. */
  async function expectWarmVisit(page: Page): Promise<void> {
    modelRequests = [];
    const { info, events } = await load(page);
    expect(info.fromCache).toBe(true);
    expect(info.network.requests).toBe(0);
    expect(modelRequests).toEqual([]);
    expect(events.some((e) => e.fromCache && (e.bytesTotal ?? 0) > 0)).toBe(true);
    expect(await page.innerText('.model-picker .status')).toMatch(/^Loaded models\/stories260K in .*, from this browser's cache\.$/);
    expect(await page.innerText('.cache .origin')).toBe("Loaded from this browser's cache: 0 network requests.");
    // Nothing is on the device yet: IndexedDB holds the pinned blocks.
    expect(Number(await page.getAttribute('.cache', 'data-kv-blocks'))).toBeGreaterThan(0);

    const visit = await send(page, PROMPT);
    expect(visit.text).toBe(first.text);
    expect(visit.promptTokens).toBe(first.promptTokens);
    expect(visit.cachedTokens).toBeGreaterThan(0);
    expect(visit.cachedTokens).toBe(first.cachedTokens);
    expect(await page.innerText(`${PANE} .pane-meta`)).toContain(`${visit.cachedTokens} prompt tokens from cache`);
    // The restored blocks are on the device now, marked persisted, and the stats saw the hit.
    expect(Number(await page.getAttribute('.kv-grid', 'data-persisted'))).toBeGreaterThan(0);
    expect(await page.locator('.kv-grid .cell.persisted').count()).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('[data-stat=stored]', 'data-restored'))).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('[data-stat=hit]', 'data-cached-tokens'))).toBe(visit.cachedTokens);
    expect(modelRequests).toEqual([]);
    expect(s.errors).toEqual([]);
  }

  beforeAll(async () => {
    dev = await startDevServer();
    profile = mkdtempSync(join(tmpdir(), 'folio-e2e-profile-'));
    await open();
  });
  afterAll(async () => {
    await s?.close();
    await dev?.server.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('first visit: downloads with byte progress, pins a prefix from the pane, and persists it', async () => {
    const { page } = s;
    const { info, events } = await load(page);
    expect(info.fromCache).toBe(false);
    expect(info.network.requests).toBeGreaterThan(0);
    expect(modelRequests.length).toBeGreaterThan(0);
    const weights = events.filter((e) => e.file === 'model.safetensors' && e.bytesTotal);
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every((e) => e.fromCache === false)).toBe(true);
    expect(weights.at(-1)!.bytesLoaded).toBe(weights.at(-1)!.bytesTotal);
    expect(await page.innerText('.cache .origin')).toMatch(/^Downloaded: \d+ network requests, [\d.]+ (KB|MB); kept in this browser for next time\.$/);
    await page.waitForFunction(() => document.querySelector('.cache')?.getAttribute('data-models') === '1');
    expect(await page.innerText('.cache .summary')).toMatch(/^1 model: [\d.]+ MB of weights, 0 KV blocks\.$/);

    // Pin with the keyboard: the button is labelled and reachable.
    await page.fill(`${PANE} textarea`, PREFIX);
    const pin = page.getByRole('button', { name: 'Pin as shared prefix: Pane 1 prompt' });
    await pin.focus();
    await page.keyboard.press('Enter');
    const status = page.locator(`${PANE} .pin-status`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-kind') === 'ok', `${PANE} .pin-status`, { timeout: 60_000 });
    const m = /^Pinned (\d+) tokens \((\d+) blocks\), persisted$/.exec(await status.innerText());
    expect(m, await status.innerText()).not.toBeNull();
    const [tokens, blocks] = [Number(m![1]), Number(m![2])];
    expect(tokens).toBeGreaterThan(60);
    expect(tokens).toBeLessThan(200);
    expect(blocks).toBe(Math.floor(tokens / 16));
    expect(await page.getAttribute(`${PANE} .pin`, 'aria-describedby')).toBe(await status.getAttribute('id'));

    // Flush the write queue, then the map shows the pinned blocks as cached and persisted.
    await page.evaluate(async () => {
      await window.folioApp.engine!.flushStorage();
      await window.folioApp.refresh();
    });
    expect(Number(await page.getAttribute('.kv-grid', 'data-persisted'))).toBe(blocks);
    expect(await page.locator('.kv-grid .cell.cached.persisted').count()).toBe(blocks);
    expect(Number(await page.getAttribute('[data-stat=stored]', 'data-written'))).toBeGreaterThanOrEqual(blocks);
    expect(Number(await page.getAttribute('.cache', 'data-kv-blocks'))).toBeGreaterThanOrEqual(blocks);
    expect(await page.innerText('.cache .summary')).toMatch(new RegExp(`^1 model: [\\d.]+ MB of weights, ${blocks} KV blocks \\([\\d.]+ KB\\)\\.$`));

    // A request that starts with the prefix hits its blocks on the device.
    first = await send(page, PROMPT);
    expect(first.text.length).toBeGreaterThan(10);
    expect(first.cachedTokens).toBe(blocks * 16);
    expect(await page.innerText('[data-stat=hit]')).toMatch(/^\d+% \(\d+ tokens\)$/);
    expect(s.errors).toEqual([]);
  });

  it('after a reload: no request for model files, the prefix comes back from IndexedDB', async () => {
    await s.page.reload();
    await expectWarmVisit(s.page);
  });

  it('after closing and relaunching Chromium on the same profile: the same', async () => {
    await s.chromium.close();
    await open();
    await expectWarmVisit(s.page);
  });
});
