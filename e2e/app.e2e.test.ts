// The demo app (index.html, src/app/) in headless Chromium, served by Vite's dev server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../src/browser/devServer.ts';
import { openPage, type PageSession } from './session.ts';

const pane = (i: number) => `.pane[data-pane="${i}"]`;

describe('demo app', () => {
  let s: PageSession;
  beforeAll(async () => {
    const { url, server } = await startDevServer();
    s = await openPage(`${url}/index.html?autoload=0`, () => server.close());
  });
  afterAll(async () => s?.close());

  it('loads the default model with a progress bar and reports the backend', async () => {
    const { page } = s;
    expect(await page.getAttribute('body', 'data-model-state')).toBe('none');
    await page.fill('input[name=blocks]', '64');
    await page.click('.model-picker button[type=submit]');
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    expect(await page.$eval('.model-picker progress', (p) => (p as HTMLProgressElement).value)).toBe(1);
    expect(await page.innerText('.model-picker .status')).toMatch(/^Loaded models\/stories260K in .* on WebGPU/);
    // The KV map shows every block, all free.
    expect(await page.locator('.kv-grid .cell').count()).toBe(64);
    expect(await page.locator('.kv-grid .cell.free').count()).toBe(64);
  });

  it('two panes stream at the same time, and the KV map and stats follow', async () => {
    const { page } = s;
    await page.fill('input[name=max_tokens]', '100');
    await page.fill('input[name=seed]', '3');
    await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a little girl named Lily.');
    await page.fill(`${pane(1)} textarea`, 'Once upon a time, there was a big dog.');
    await page.evaluate(() => document.querySelectorAll<HTMLButtonElement>('.pane .send').forEach((b) => b.click()));
    // Sample the page while both stream: both panes busy at once, blocks held by both panes.
    let together = false;
    let heldColours = 0;
    for (let i = 0; i < 400; i++) {
      const snap = await page.evaluate(() => ({
        busy: [...document.querySelectorAll<HTMLElement>('.pane')].map((p) => p.dataset.state === 'generating'),
        colours: new Set([...document.querySelectorAll<HTMLElement>('.kv-grid .cell.held')].map((c) => c.style.background)).size,
      }));
      if (snap.busy.every(Boolean)) together = true;
      heldColours = Math.max(heldColours, snap.colours);
      if (!snap.busy.some(Boolean)) break;
      await page.waitForTimeout(50);
    }
    expect(together).toBe(true);
    expect(heldColours).toBe(2);
    for (const i of [0, 1]) {
      const text = await page.innerText(`${pane(i)} .turn:last-child .gen`);
      expect(text.length).toBeGreaterThan(40);
      expect(await page.innerText(`${pane(i)} .pane-meta`)).toMatch(/^token limit reached · first token \d+ ms · 100 tokens · [\d.]+ tok\/s/);
    }
    // Finished requests leave their full blocks cached, and the stats saw the work.
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('.kv-grid')?.dataset.cached) > 0);
    expect(await page.innerText('[data-stat=decode]')).toMatch(/tok\/s$/);
    // The stats panel polls the engine, so it may show the second finish a beat after the pane does.
    await page.waitForFunction(() => document.querySelector('[data-stat=requests]')?.textContent?.includes('2 done'), undefined, { timeout: 5000 });
    // stories260K's safetensors are f32: about 1 MB of them on the device.
    expect(await page.innerText('[data-stat=weights]')).toMatch(/^F32 47 · 10\d\d KB on the device$/);
  });

  it('Enter sends, Stop aborts the stream, and a repeated prompt hits the prefix cache', async () => {
    const { page } = s;
    await page.fill('input[name=max_tokens]', '400');
    await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a little girl named Lily.');
    await page.focus(`${pane(0)} textarea`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((sel) => (document.querySelector(sel)?.textContent?.length ?? 0) > 20, `${pane(0)} .turn:last-child .gen`);
    // Focus moved to Stop: keyboard users stop with Enter too.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Stop');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${pane(0)}[data-state=idle]`);
    expect(await page.getAttribute(`${pane(0)} .turn:last-child`, 'data-finish')).toBe('abort');
    expect(await page.innerText(`${pane(0)} .pane-meta`)).toMatch(/^stopped · first token \d+ ms/);
    // The stopped request let go of its blocks, and its prompt (sent before) hit the prefix cache.
    const { held, hits } = await page.evaluate(async () => {
      const engine = window.folioApp.engine!;
      const cells = await engine.kvMap();
      return { held: cells.filter((c) => c.state === 'held' || c.state === 'shared').length, hits: (await engine.stats()).prefix.hits };
    });
    expect(held).toBe(0);
    expect(hits).toBeGreaterThan(0);
    expect(await page.innerText('[data-stat=hit]')).toMatch(/^\d+% \(\d+ tokens\)$/);
  });

  it('chat mode talks through chat.completions', async () => {
    const { page } = s;
    await page.fill('input[name=max_tokens]', '30');
    await page.selectOption(`${pane(1)} select.mode`, 'chat');
    await page.fill(`${pane(1)} textarea`, 'Tell me a story about a cat.');
    await page.click(`${pane(1)} .send`);
    await page.waitForSelector(`${pane(1)}[data-state=idle] .turn.chat[data-finish]`);
    expect(await page.innerText(`${pane(1)} .turn.chat .user`)).toBe('Tell me a story about a cat.');
    expect((await page.innerText(`${pane(1)} .turn.chat .assistant`)).length).toBeGreaterThan(5);
    expect(s.errors).toEqual([]);
  });

  it('chat mode: a pinned system prompt goes first in every request and hits the prefix cache', async () => {
    const { page } = s;
    const system = 'You are a kind storyteller. You tell short, happy stories about animals, toys and children who play in the park and help their friends.';
    await page.fill(`${pane(1)} textarea`, system);
    await page.click(`${pane(1)} .pin`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-kind') === 'ok', `${pane(1)} .pin-status`);
    expect(await page.innerText(`${pane(1)} .pin-status`)).toMatch(/^Pinned system prompt: \d+ tokens \(\d+ blocks\), persisted$/);
    await page.click(`${pane(1)} .ghost[title='Clear the transcript']`);
    await page.fill(`${pane(1)} textarea`, 'Tell me about a dog.');
    await page.click(`${pane(1)} .send`);
    await page.waitForSelector(`${pane(1)}[data-state=idle] .turn.chat[data-finish]`);
    const cached = await page.evaluate(() => window.folioApp.panes[1].last!.usage!.prompt_tokens_details.cached_tokens);
    expect(cached).toBeGreaterThan(0);
    expect(s.errors).toEqual([]);
  });

  it('speculative decoding (n-gram) from the settings: the same greedy text, with drafted and accepted counts per reply', async () => {
    const { page } = s;
    await page.fill('input[name=temperature]', '0');
    await page.fill('input[name=max_tokens]', '48');
    const story = async () => {
      await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a little girl named Lily. Lily loved to play with her ball.');
      await page.click(`${pane(0)} .send`);
      await page.waitForSelector(`${pane(0)}[data-state=idle] .turn:last-child[data-finish]`);
      return {
        text: await page.innerText(`${pane(0)} .turn:last-child .gen`),
        meta: await page.innerText(`${pane(0)} .pane-meta`),
        usage: await page.evaluate(() => window.folioApp.panes[0].last!.usage!),
      };
    };
    expect(await page.inputValue('select[name=speculative]')).toBe('off');
    const plain = await story();
    expect(plain.usage.speculative).toBeUndefined();
    expect(plain.meta).not.toMatch(/drafted/);
    await page.selectOption('select[name=speculative]', 'ngram');
    const spec = await story();
    expect(spec.text).toBe(plain.text);
    const counts = spec.usage.speculative!;
    expect(counts.drafted_tokens).toBeGreaterThan(0);
    expect(counts.accepted_tokens).toBeLessThanOrEqual(counts.drafted_tokens);
    expect(spec.meta).toContain(`${counts.accepted_tokens} of ${counts.drafted_tokens} drafted token${counts.drafted_tokens === 1 ? '' : 's'} accepted`);
    expect(s.errors).toEqual([]);
  });
});
