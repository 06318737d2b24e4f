// The demo app as a person uses it (issue 19): each rough edge seen in screenshots, asserted
// in headless Chromium against the dev server. One page, in order: a fresh profile, so the
// first load downloads and the cache card has something to clear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../src/browser/devServer.ts';
import { boxesOf, openPage, type PageSession } from './session.ts';

const pane = (i: number) => `.pane[data-pane="${i}"]`;
/** What must not move when a load starts or ends. */
const STEADY = ['.brand', '.model-picker .row', '.model-picker .status', '.model-picker progress', '#panes', '#settings'];

describe('demo app, as a person uses it', () => {
  let s: PageSession;
  beforeAll(async () => {
    const { url, server } = await startDevServer();
    s = await openPage(`${url}/index.html?autoload=0`, () => server.close());
    await s.page.setViewportSize({ width: 1280, height: 800 });
  });
  afterAll(async () => s?.close());

  it('loads a relative model URL with one monotone progress bar, a header that stays put, and no focus taken', async () => {
    const { page } = s;
    // Without a model, Send is disabled and says why.
    expect(await page.$$eval('.pane .send', (b) => b.map((x) => [(x as HTMLButtonElement).disabled, x.getAttribute('title')]))).toEqual([[true, 'Load a model first.'], [true, 'Load a model first.']]);
    // A path on this site is a model URL (a type=url field would refuse it).
    await page.selectOption('select[name=model]', '__custom__');
    expect(await page.getAttribute('input[name=url]', 'type')).toBe('text');
    await page.fill('input[name=url]', '/models/stories260K');
    await page.evaluate(() => (document.activeElement as HTMLElement).blur());
    const before = await boxesOf(page, STEADY);
    // Record every value the bar takes and the boxes at its first move, from inside the page.
    await page.evaluate((sels) => {
      const bar = document.querySelector<HTMLProgressElement>('.model-picker progress')!;
      const seen: { values: number[]; texts: string[]; boxes: string[] | null } = { values: [], texts: [], boxes: null };
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        if (!bar.hasAttribute('value')) return;
        seen.values.push(bar.value);
        seen.texts.push(document.querySelector('.model-picker .status')!.textContent ?? '');
        seen.boxes ??= sels.map((q) => JSON.stringify(document.querySelector(q)!.getBoundingClientRect()));
      }).observe(bar, { attributes: true, attributeFilter: ['value'] });
      // requestSubmit leaves focus on the body, where a page load leaves it.
      document.querySelector<HTMLFormElement>('form.model-picker')!.requestSubmit();
    }, STEADY);
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    expect(await page.innerText('.model-picker .status')).toMatch(/^Loaded \/models\/stories260K in /);
    const seen = await page.evaluate(() => (window as unknown as { seen: { values: number[]; texts: string[]; boxes: string[] } }).seen);
    const after = await boxesOf(page, STEADY);
    expect(seen.boxes).toEqual(before);
    expect(after).toEqual(before);
    // One bar for the whole load: monotone, from below 1 up to 1, never per-file bytes.
    expect(seen.values.length).toBeGreaterThan(1);
    expect(seen.values[0]).toBeLessThan(1);
    expect(seen.values.at(-1)).toBe(1);
    for (let i = 1; i < seen.values.length; i++) expect(seen.values[i]).toBeGreaterThanOrEqual(seen.values[i - 1]);
    const during = seen.texts.slice(0, -1);
    expect(during.length).toBeGreaterThan(0);
    for (const t of during) expect(t).toMatch(/ · \d+%$/);
    expect(during.join('\n')).not.toMatch(/bytes of/);
    // The bar is not left as decoration; nothing was focused (a phone would raise its keyboard).
    expect(await page.$eval('.model-picker progress', (p) => getComputedStyle(p).visibility)).toBe('hidden');
    expect(await page.evaluate(() => document.activeElement === document.body)).toBe(true);
    expect(await page.$$eval('.pane .send', (b) => b.map((x) => (x as HTMLButtonElement).disabled))).toEqual([false, false]);
  });

  it('checks the sampling fields as they are typed: every error beside its field, Send disabled until fixed', async () => {
    const { page } = s;
    await page.fill('input[name=temperature]', '-3');
    await page.fill('input[name=top_p]', '7');
    await page.fill('input[name=max_tokens]', '2.5');
    const errors = await page.$$eval('.settings .field-error:not([hidden])', (e) => e.map((x) => x.textContent));
    expect(errors).toEqual(['Temperature must be 0 or more.', 'Top-p must be more than 0 and at most 1.', 'Max tokens must be a whole number, 1 or more.']);
    expect(await page.$$eval('.settings input[aria-invalid=true]', (e) => e.map((x) => (x as HTMLInputElement).name))).toEqual(['temperature', 'top_p', 'max_tokens']);
    expect(await page.$$eval('.pane .send', (b) => b.map((x) => (x as HTMLButtonElement).disabled))).toEqual([true, true]);
    // Enter in the prompt box sends nothing either.
    await page.focus(`${pane(0)} textarea`);
    await page.keyboard.press('Enter');
    expect(await page.locator(`${pane(0)} .turn`).count()).toBe(0);
    await page.fill('input[name=temperature]', '0');
    await page.fill('input[name=top_p]', '1');
    await page.fill('input[name=max_tokens]', '6');
    expect(await page.locator('.settings .field-error:not([hidden])').count()).toBe(0);
    expect(await page.$$eval('.pane .send', (b) => b.map((x) => (x as HTMLButtonElement).disabled))).toEqual([false, false]);
  });

  it('says when a story stopped at the token limit', async () => {
    const { page } = s;
    await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a little girl named Lily.');
    await page.click(`${pane(0)} .send`);
    await page.waitForSelector(`${pane(0)}[data-state=idle] .turn[data-finish]`);
    expect(await page.getAttribute(`${pane(0)} .turn`, 'data-finish')).toBe('length');
    expect(await page.innerText(`${pane(0)} .turn .note.finish`)).toBe('stopped at the 6-token limit');
    expect(await page.innerText(`${pane(0)} .pane-meta`)).toMatch(/^token limit reached · first token \d+ ms · 6 tokens/);
  });

  it('Escape stops a generation with focus anywhere in the pane, within a step or two', async () => {
    const { page } = s;
    await page.fill('input[name=max_tokens]', '400');
    await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a big dog.');
    await page.click(`${pane(0)} .send`);
    await page.waitForFunction(() => (window.folioApp.panes[0].last?.tokens ?? 0) >= 5);
    // Send moved focus to Stop: the textarea's own key handler would not hear this Escape.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Stop');
    // Tokens shown when the key goes down, counted in the page (before the pane hears the key).
    await page.evaluate(() => addEventListener('keydown', () => ((window as unknown as { atPress: number }).atPress = window.folioApp.panes[0].last!.tokens), { capture: true, once: true }));
    await page.keyboard.press('Escape');
    await page.waitForSelector(`${pane(0)}[data-state=idle]`);
    const { last, atPress } = await page.evaluate(() => ({ last: window.folioApp.panes[0].last!, atPress: (window as unknown as { atPress: number }).atPress }));
    expect(last.finish).toBe('abort');
    // What was already on its way from the worker may still land, but not a run of tokens.
    expect(last.tokens - atPress, `${atPress} tokens at the key press, ${last.tokens} in the end`).toBeLessThanOrEqual(3);
    expect(await page.getAttribute(`${pane(0)} .turn:last-child`, 'data-finish')).toBe('abort');
  });

  it('keeps the story and chat transcripts apart', async () => {
    const { page } = s;
    const stories = await page.locator(`${pane(0)} .turn.story`).count();
    expect(stories).toBe(2);
    await page.selectOption(`${pane(0)} select.mode`, 'chat');
    expect(await page.locator(`${pane(0)} .turn`).count()).toBe(0);
    expect(await page.getAttribute(`${pane(0)} textarea`, 'placeholder')).toBe('Say something…');
    await page.selectOption(`${pane(0)} select.mode`, 'story');
    expect(await page.locator(`${pane(0)} .turn.story`).count()).toBe(stories);
    expect(await page.locator(`${pane(0)} .turn.chat`).count()).toBe(0);
  });

  it('a long chat stays scrolled to its newest turn; old turns are left out to fit the context; an error is in view', async () => {
    const { page } = s;
    const scrolledToEnd = () => page.$eval(`${pane(1)} .log`, (l) => l.scrollHeight - l.scrollTop - l.clientHeight <= 1);
    await page.fill('input[name=max_tokens]', '40');
    await page.selectOption(`${pane(1)} select.mode`, 'chat');
    // About 240 tokens each: the second question no longer fits beside the first exchange.
    const long = (n: number) => `Question ${n}: ${'Lily and Tom went to the park to play with the big red ball. '.repeat(10)}`;
    for (const n of [1, 2]) {
      await page.fill(`${pane(1)} textarea`, long(n));
      await page.click(`${pane(1)} .send`);
      await page.waitForSelector(`${pane(1)}[data-state=idle] .turn:nth-child(${n})[data-finish]`);
      expect(await scrolledToEnd()).toBe(true);
    }
    expect(await page.getAttribute(`${pane(1)} .turn:nth-child(2)`, 'data-finish')).toBe('length');
    expect(await page.innerText(`${pane(1)} .turn:nth-child(2) .note.context`)).toBe("The oldest 1 turn is left out to fit the model's 512-token context.");
    expect(await page.getAttribute(`${pane(1)} .turn:nth-child(1)`, 'class')).toContain('left-out');
    // A question longer than the context alone fails in plain sight, and costs no earlier turn.
    await page.fill(`${pane(1)} textarea`, long(3).repeat(4));
    await page.click(`${pane(1)} .send`);
    await page.waitForSelector(`${pane(1)}[data-state=idle] .turn:nth-child(3)[data-finish=error]`);
    expect(await page.innerText(`${pane(1)} .turn:nth-child(3) .error`)).toMatch(/context/);
    expect(await scrolledToEnd()).toBe(true);
    const inView = await page.$eval(`${pane(1)} .log`, (l) => {
      const e = l.querySelector('.turn:nth-child(3) .error')!.getBoundingClientRect();
      const v = l.getBoundingClientRect();
      return e.top >= v.top && e.bottom <= v.bottom;
    });
    expect(inView).toBe(true);
    expect(await page.getAttribute(`${pane(1)} .turn:nth-child(2)`, 'class')).not.toContain('left-out');
  });

  it('Clear cache asks first; afterwards no card or block claims anything is stored; the card reads like the side panel', async () => {
    const { page } = s;
    await page.selectOption(`${pane(0)} select.mode`, 'story');
    await page.fill(`${pane(0)} textarea`, 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.');
    await page.click(`${pane(0)} .pin`);
    await page.waitForSelector(`${pane(0)} .pin-status[data-kind=ok]`);
    await page.evaluate(() => window.folioApp.refresh());
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('.kv-grid')?.dataset.persisted) > 0);
    expect(await page.getAttribute('.cache', 'data-models')).toBe('1');
    expect(await page.innerText('.cache .origin')).toMatch(/^Downloaded: .*kept in this browser for next time\.$/);
    await page.click('.cache button:text("Clear cache…")');
    expect(await page.isVisible('.cache .confirm')).toBe(true);
    await page.click('.cache .confirm button:text("Cancel")');
    expect(await page.isVisible('.cache .confirm')).toBe(false);
    expect(await page.getAttribute('.cache', 'data-models')).toBe('1');
    await page.click('.cache button:text("Clear cache…")');
    await page.click('.cache .confirm button:text("Delete everything")');
    await page.waitForSelector('.cache[data-models="0"]');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.kv-grid')?.dataset.persisted === '0');
    const card = await page.innerText('.cache');
    expect(card).toContain('Nothing stored in this browser.');
    expect(card).toContain('Not stored in this browser any more');
    expect(card).not.toMatch(/Loaded from this browser's cache|kept in this browser/);
    const sizes = await page.evaluate(() => ['.cache .origin', '.cache .summary', '.stats dt'].map((q) => getComputedStyle(document.querySelector(q)!).fontSize));
    expect(new Set(sizes).size).toBe(1);
  });

  it('a failed load of another model keeps the model in use', async () => {
    const { page } = s;
    await page.evaluate(() => ((window.folioApp.engine as unknown as { mark: number }).mark = 1));
    await page.fill('input[name=url]', '/models/missing');
    await page.click('.model-picker button[type=submit]');
    await page.waitForSelector('form.model-picker[data-last-load=failed]', { timeout: 60_000 });
    expect(await page.innerText('.model-picker .status')).toMatch(/^Could not load \/models\/missing: .*\/models\/stories260K is still loaded and in use\.$/s);
    expect(await page.getAttribute('body', 'data-model-state')).toBe('ready');
    expect(await page.evaluate(() => (window.folioApp.engine as unknown as { mark?: number } | null)?.mark)).toBe(1);
    // The panes go on with the old model.
    await page.fill('input[name=max_tokens]', '5');
    await page.fill(`${pane(0)} textarea`, 'Once upon a time');
    expect(await page.isEnabled(`${pane(0)} .send`)).toBe(true);
    await page.click(`${pane(0)} .send`);
    await page.waitForSelector(`${pane(0)}[data-state=idle] .turn:last-child[data-finish]`);
    expect(await page.getAttribute(`${pane(0)} .turn:last-child`, 'data-finish')).toBe('length');
    expect(s.errors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
  });
});
