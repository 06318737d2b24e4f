// The production build (vite build: the app, its worker, and models/ copied in) from a plain
// static server, at a phone's viewport.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/browser/devServer.ts';
import { serveFolder } from '../src/demo/staticServer.ts';
import { openPage, type PageSession } from './session.ts';

describe('built app on a static server', () => {
  let s: PageSession;
  const outDir = mkdtempSync(join(tmpdir(), 'folio-dist-'));
  beforeAll(async () => {
    await build({ root: ROOT, configFile: resolve(ROOT, 'vite.config.ts'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const site = await serveFolder(outDir);
    s = await openPage(site.url, () => site.close());
  });
  afterAll(async () => {
    await s?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('autoloads the bundled default model and generates on a phone-sized screen', async () => {
    const { page } = s;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    await page.fill('input[name=max_tokens]', '20');
    await page.click('.pane[data-pane="0"] .send');
    await page.waitForSelector('.pane[data-pane="0"][data-state=idle] .turn[data-finish]');
    expect((await page.innerText('.pane[data-pane="0"] .gen')).length).toBeGreaterThan(10);
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(s.errors).toEqual([]);
  });

  it('errors keep their class, name and code in the minified build', async () => {
    const { page } = s;
    await page.waitForSelector('body[data-model-state=ready]', { timeout: 60_000 });
    const r = await page.evaluate(async () => {
      const engine = window.folioApp.engine!;
      return engine.completions.create({ prompt: 'x', temperature: -1 }).then(
        () => null,
        (e: Error & { code: string; param: string }) => ({
          name: e.name,
          code: e.code,
          param: e.param,
          // The revived error's class is the app's own InvalidParamsError (minified name aside).
          cls: (e.constructor as { errorName?: string }).errorName,
        }),
      );
    });
    expect(r).toEqual({ name: 'InvalidParamsError', code: 'INVALID_PARAMS', param: 'temperature', cls: 'InvalidParamsError' });
  });
});
