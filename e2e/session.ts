import type { Page } from 'playwright-core';
import { type Chromium, launchChromium } from '../src/browser/chromium.ts';

export interface PageSession {
  page: Page;
  chromium: Chromium;
  /** Uncaught exceptions and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * One headless Chromium page at `url`, collecting page errors. `userDataDir` keeps the profile
 * (IndexedDB) on disk across launches; without it the profile is fresh and removed at close.
 * `webgpu: false` launches a Chromium without WebGPU; `args` are more Chromium flags.
 */
export async function openPage(url: string, onClose: () => Promise<unknown> = async () => {}, opts: { userDataDir?: string; webgpu?: boolean; args?: string[] } = {}): Promise<PageSession> {
  const chromium: Chromium = await launchChromium({ userDataDir: opts.userDataDir, webgpu: opts.webgpu, args: opts.args });
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  return {
    page,
    chromium,
    errors,
    async close() {
      await chromium.close();
      await onClose();
    },
  };
}

/** Each selector's element box (its first match), as JSON text: equal strings, same place and size. */
export function boxesOf(page: Page, selectors: string[]): Promise<string[]> {
  return page.evaluate((sels) => sels.map((q) => JSON.stringify(document.querySelector(q)!.getBoundingClientRect())), selectors);
}
