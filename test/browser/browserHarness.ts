import type { Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { type Chromium, launchChromium } from '../../src/browser/chromium.ts';
import { startDevServer } from '../../src/browser/devServer.ts';

export interface BrowserSession {
  url: string;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/** The repository served by Vite on localhost and one headless Chromium page on it. */
export async function openBrowser(path = '/test/browser/harness.html'): Promise<BrowserSession> {
  const { url, server }: { url: string; server: ViteDevServer } = await startDevServer();
  const chromium: Chromium = await launchChromium();
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url + path);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  return {
    url,
    page,
    errors,
    async close() {
      await chromium.close();
      await server.close();
    },
  };
}
