/**
 * `npm run demo`: the built app (dist/, made by `vite build`) served on 127.0.0.1, driven by
 * headless Chromium through Playwright. Two panes tell stories at the same time; their streams
 * and the engine's stats are printed here. Screenshots of four states (loading, two panes
 * generating, a 30-turn chat, an error), each at 1280×800 and 390×844, go to demo-output/.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../browser/chromium.ts';
import { ROOT } from '../browser/devServer.ts';
import { chatTurns, failedLoad, tooLongStory } from './scenes.ts';
import { shoot } from './shots.ts';
import { serveFolder } from './staticServer.ts';

const DIST = resolve(ROOT, 'dist');
const OUT_DIR = resolve(ROOT, 'demo-output');
const backend = process.env.FOLIO_DEMO_BACKEND ?? 'auto';

/** The scripted conversation: each round sends one prompt per pane, both at once. */
const ROUNDS: [string, string][] = [
  ['Once upon a time, there was a little girl named Lily. She loved to play in the park.', 'Once upon a time, there was a big brown dog named Max.'],
  ['Once upon a time, there was a little girl named Lily. She had a red ball.', 'Once upon a time, there was a little girl named Lily. She saw a bird.'],
];

const color = (pane: number, s: string) => (process.stdout.isTTY ? `\x1b[${pane === 0 ? 36 : 33}m${s}\x1b[0m` : s);
const log = (s: string) => process.stdout.write(s + '\n');

async function main(): Promise<void> {
  if (!existsSync(resolve(DIST, 'index.html'))) throw new Error('dist/ is missing: run `npm run demo` (it builds first) or `npx vite build`');
  if (!existsSync(resolve(DIST, 'models/stories260K/model.safetensors'))) throw new Error('dist/models/stories260K is missing: run `npm run setup` then `npx vite build`');
  // The weights are held halfway until the loading screenshots are taken.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const site = await serveFolder(DIST, { hold: { suffix: '/model.safetensors', until: held } });
  const browser = await launchChromium();
  const shots: string[] = [];
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !/404 \(Not Found\)/.test(m.text()) && errors.push(m.text()));
    log(`Folio demo: serving dist/ at ${site.url}`);
    const t0 = Date.now();
    await page.goto(`${site.url}?autoload=0`);
    await page.selectOption('select[name=backend]', backend);
    await page.fill('input[name=blocks]', '96');
    await page.click('.model-picker button[type=submit]');
    // Half the weights are in: the bar stands part way.
    await page.waitForFunction(() => (document.querySelector<HTMLProgressElement>('.model-picker progress')?.position ?? -1) > 0.2, null, { timeout: 60_000 })
      .catch(() => log('(the loading screenshot is taken before any weights arrived)'));
    shots.push(...await shoot(page, OUT_DIR, 'loading'));
    release();
    await page.waitForSelector('body[data-model-state=ready], body[data-model-state=error]', { timeout: 180_000 });
    log(await page.locator('.model-picker .status').innerText());
    if ((await page.getAttribute('body', 'data-model-state')) !== 'ready') throw new Error('the model did not load');
    log(`(loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    await page.fill('input[name=temperature]', '0.8');
    await page.fill('input[name=top_p]', '0.9');
    await page.fill('input[name=max_tokens]', '90');
    await page.fill('input[name=seed]', '7');

    for (const [r, prompts] of ROUNDS.entries()) {
      log(`\n── round ${r + 1}: both panes at once ──`);
      for (const [i, p] of prompts.entries()) {
        log(color(i, `pane ${i + 1} ▸ ${p}`));
        await page.fill(`.pane[data-pane="${i}"] textarea`, p);
      }
      // Click both Send buttons in the same task, so both requests start together.
      await page.evaluate(() => document.querySelectorAll<HTMLButtonElement>('.pane .send').forEach((b) => b.click()));
      const last = r === ROUNDS.length - 1;
      await streamPanes(page, last ? async () => shots.push(...await shoot(page, OUT_DIR, 'generating', '#panes')) : null);
    }

    log('\n── full text ──');
    const texts = await page.$$eval('.pane', (panes) => panes.map((p) => [...p.querySelectorAll('.turn')].map((t) => t.textContent ?? '')));
    texts.forEach((turns, i) => turns.forEach((t, r) => log(color(i, `pane ${i + 1}, round ${r + 1}: `) + t)));

    await page.evaluate(() => window.folioApp.refresh());
    const s = await page.evaluate(() => window.folioApp.engine!.stats());
    const ttft = await page.$$eval('.pane', (panes) => panes.map((p) => p.querySelector('.pane-meta')?.textContent ?? ''));
    log('\n── stats ──');
    ttft.forEach((m, i) => log(`pane ${i + 1}: ${m}`));
    log(`backend:            ${s.adapter}`);
    log(`decode speed:       ${s.tokens.decodeTokensPerSecond.toFixed(1)} tok/s (prefill ${s.tokens.prefillTokensPerSecond.toFixed(1)} tok/s)`);
    log(`prefix hit rate:    ${(s.prefix.hitRate * 100).toFixed(0)}% (${s.prefix.hits} blocks, ${s.prefix.cachedPromptTokens} prompt tokens reused)`);
    log(`KV blocks:          ${s.kv.blocksUsed} used, ${s.kv.blocksCachedFree} cached, ${s.kv.blocksFree} free of ${s.kv.blocksTotal}; utilization ${(s.kv.utilization * 100).toFixed(0)}%`);
    log(`requests:           ${s.requests.finished} finished, ${s.requests.preemptions} preemptions; ${s.tokens.prompt} prompt + ${s.tokens.generated} generated tokens in ${s.steps} steps`);

    log('\n── a 30-turn chat in pane 2 ──');
    log(await chatTurns(page, 1, 30));
    shots.push(...await shoot(page, OUT_DIR, 'chat', '.pane[data-pane="1"]'));

    log('\n── errors: a story longer than the context, a model that is not there ──');
    log(await tooLongStory(page, 0));
    log(await failedLoad(page, '/models/missing'));
    shots.push(...await shoot(page, OUT_DIR, 'error'));

    if (errors.length) log(`\nconsole errors:\n  ${errors.join('\n  ')}`);
    log(`\nscreenshots:\n  ${shots.join('\n  ')}`);
    if (errors.length) process.exitCode = 1;
  } finally {
    release();
    await browser.close();
    await site.close();
  }
}

/**
 * Prints each pane's new text as it streams, until both panes are idle. `snapshot` runs once,
 * when both panes are well into their answers, so the KV map shows held and shared blocks.
 */
async function streamPanes(page: Page, snapshot: (() => Promise<unknown>) | null): Promise<void> {
  const seen = [0, 0];
  let took = false;
  for (let shot = snapshot; ;) {
    const state = await page.$$eval('.pane', (panes) => panes.map((p) => ({
      text: p.querySelector('.turn:last-child .gen')?.textContent ?? '',
      busy: (p as HTMLElement).dataset.state === 'generating',
    })));
    state.forEach((p, i) => {
      if (p.text.length > seen[i]) {
        log(color(i, `pane ${i + 1} │ `) + p.text.slice(seen[i]).replace(/\n/g, ' '));
        seen[i] = p.text.length;
      }
    });
    if (shot && state.every((p) => p.busy && p.text.length > 60)) {
      await shot();
      shot = null;
      took = true;
    }
    if (state.every((p) => !p.busy)) break;
    await new Promise((r) => setTimeout(r, 400));
  }
  // Too fast to catch both mid-stream: photograph the finished panes rather than none.
  if (snapshot && !took) await snapshot();
}

rmSync(OUT_DIR, { recursive: true, force: true });
mkdirSync(OUT_DIR, { recursive: true });
main().catch((e) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
