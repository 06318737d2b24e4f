// A 30-turn chat in the demo app (index.html, src/app/) in headless Chromium: the chat outgrows
// stories260K's 512-token context, the pane leaves its oldest turns out and from then on asks
// for a KV budget (src/app/paneRequests.ts), and every turn is still answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatKvBudget } from '../src/app/paneRequests.ts';
import { startDevServer } from '../src/browser/devServer.ts';
import { openPage, type PageSession } from './session.ts';

const TURNS = 30;
const CONTEXT = 512;
const BLOCK = 16;
const LINES = ['Tell me about a cat.', 'What did the cat eat?', 'Where did it go?', 'Who did it meet?', 'Were they friends?', 'What did they play?', 'Was it fun?', 'What happened next?', 'Did it rain?', 'How did the day end?'];

interface TurnRecord {
  /** Most KV blocks the engine held during the turn (its stats, polled while the turn ran). */
  engineBlocks: number;
  /** Most blocks the KV map showed held or shared during the turn. */
  mapBlocks: number;
  /** Most blocks the KV map marked as attention sinks during the turn. */
  sinks: number;
  /** Whether the chat was over its context by the end of the turn (so it asked for a budget). */
  budgeted: boolean;
  answered: boolean;
}

describe('demo app: a long chat', () => {
  let s: PageSession;
  beforeAll(async () => {
    const { url, server } = await startDevServer();
    s = await openPage(`${url}/index.html?autoload=0&shared=0`, () => server.close());
  });
  afterAll(async () => s?.close());

  it(`answers ${TURNS} turns past the context, holding at most the budget plus one block once over it`, async () => {
    const { page } = s;
    // The CPU backend (WebAssembly): on SwiftShader the same chat takes several times longer.
    await page.selectOption('select[name=backend]', 'cpu');
    await page.fill('input[name=blocks]', '64');
    await page.click('.model-picker button[type=submit]');
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    await page.fill('input[name=max_tokens]', '8');
    await page.fill('input[name=temperature]', '0');
    await page.selectOption('.pane[data-pane="1"] select.mode', 'chat');
    // Typed and sent inside the page, as the demo does (src/demo/scenes.ts), sampling the
    // engine's stats and the KV map while each turn runs.
    const turns = await page.evaluate(async ({ turns, lines }) => {
      const app = window.folioApp;
      const pane = app.panes[1];
      const el = document.querySelector<HTMLElement>('.pane[data-pane="1"]')!;
      const grid = document.querySelector<HTMLElement>('.kv-grid')!;
      const out: TurnRecord[] = [];
      for (let i = 0; i < turns; i++) {
        let mapBlocks = 0;
        let sinks = 0;
        let engineBlocks = 0;
        pane.input.value = lines[i % lines.length];
        let done = false;
        const run = pane.run().finally(() => (done = true));
        // The app's own refresh redraws the KV map from the engine, as its poll does.
        while (!done) {
          await app.refresh();
          mapBlocks = Math.max(mapBlocks, Number(grid.dataset.held) + Number(grid.dataset.shared));
          sinks = Math.max(sinks, Number(grid.dataset.sink));
          engineBlocks = Math.max(engineBlocks, (await app.engine!.stats()).kv.blocksUsed);
        }
        await run;
        const last = el.querySelector<HTMLElement>('.log > .turn:last-child')!;
        out.push({
          engineBlocks,
          mapBlocks,
          sinks,
          budgeted: el.querySelectorAll('.turn.left-out').length > 0,
          answered: last.dataset.finish !== undefined && last.dataset.finish !== 'error' && (last.querySelector('.gen')?.textContent ?? '').length > 0,
        });
      }
      return out;
    }, { turns: TURNS, lines: LINES });

    expect(turns.map((t) => t.answered)).toEqual(turns.map(() => true));
    const pane = '.pane[data-pane="1"]';
    expect(await page.locator(`${pane} .log > .turn[data-finish]:not([data-finish=error])`).count()).toBe(TURNS);
    // The chat went past the context: older turns left out, KV evicted to keep the budget.
    const first = turns.findIndex((t) => t.budgeted);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(TURNS - 5);
    expect(await page.locator(`${pane} .turn.left-out`).count()).toBeGreaterThan(0);
    const budget = chatKvBudget(CONTEXT);
    expect(await page.locator(`${pane} .note.evicted`).last().innerText()).toContain(`within ${budget} tokens`);
    // Within the context before, within the budget plus the block being filled after, in every
    // sample of the engine's stats and of the KV map (a short turn may end between samples).
    for (const t of turns) {
      const limit = t.budgeted ? budget / BLOCK + 1 : CONTEXT / BLOCK;
      expect(t.engineBlocks).toBeLessThanOrEqual(limit);
      expect(t.mapBlocks).toBeLessThanOrEqual(limit);
    }
    // The samples did catch the chat at its budget, and the map marked its sink block.
    const over = turns.slice(first);
    expect(Math.max(...over.map((t) => t.engineBlocks))).toBeGreaterThanOrEqual(budget / BLOCK);
    expect(Math.max(...over.map((t) => t.mapBlocks))).toBeGreaterThanOrEqual(budget / BLOCK);
    expect(over.some((t) => t.sinks > 0)).toBe(true);
    // Nothing is held once the chat is idle.
    expect(await page.evaluate(async () => (await window.folioApp.engine!.stats()).kv.blocksUsed)).toBe(0);
    expect(s.errors).toEqual([]);
  }, 120_000);
});
