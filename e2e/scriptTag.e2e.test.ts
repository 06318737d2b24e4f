// examples/script-tag served as plain files by python3 -m http.server: no Vite, no build.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/browser/devServer.ts';
import { servePython } from './pythonServer.ts';
import { openPage, type PageSession } from './session.ts';

describe('script tag: examples/script-tag on a plain static server', () => {
  let s: PageSession;
  beforeAll(async () => {
    const { url, proc } = await servePython(resolve(ROOT, 'examples/script-tag'));
    s = await openPage(url, async () => proc.kill());
  });
  afterAll(async () => s?.close());

  it('<folio-chat> loads the model and streams a story', async () => {
    const { page } = s;
    expect(await page.evaluate(() => typeof (window as unknown as { Folio: { createEngine: unknown } }).Folio.createEngine)).toBe('function');
    await page.waitForSelector('folio-chat[data-state=ready]', { timeout: 60_000 });
    await page.locator('folio-chat textarea').fill('Once upon a time, there was a cat.');
    await page.locator('folio-chat textarea').press('Enter');
    await page.waitForSelector('folio-chat[data-state=generating]', { state: 'attached' }).catch(() => {});
    await page.waitForSelector('folio-chat[data-state=ready]');
    const log = await page.locator('folio-chat .log').innerText();
    expect(log.startsWith('Once upon a time, there was a cat.')).toBe(true);
    expect(log.length).toBeGreaterThan(60);
  });

  it('window.Folio.createEngine generates text (greedy) through the inlined worker', async () => {
    const { page } = s;
    await page.click('#run');
    await page.waitForSelector('#out[data-done=true]', { timeout: 60_000 });
    const text = await page.innerText('#out');
    expect(text).toMatch(/^Once upon a time/);
    expect(text.length).toBeGreaterThan(60);
    expect(s.errors).toEqual([]);
  });
});
