import type { Page } from 'playwright-core';
import type { Plugin, ViteDevServer } from 'vite';
import { type Chromium, launchChromium } from '../../src/browser/chromium.ts';
import { startDevServer } from '../../src/browser/devServer.ts';

export interface BrowserSession {
  url: string;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

export interface OpenBrowserOptions {
  /** false: a Chromium without WebGPU (no adapter). */
  webgpu?: boolean;
  /**
   * A host name other than localhost (e.g. 'folio.test'), resolved to the dev server by
   * Chromium: http:// on it is not a secure context, so pages there have no navigator.gpu.
   */
  host?: string;
}

/** The repository served by Vite on localhost and one headless Chromium page on it. */
export async function openBrowser(path = '/test/browser/harness.html', opts: OpenBrowserOptions = {}): Promise<BrowserSession> {
  const anyHost: Plugin = { name: 'folio-test-any-host', config: () => ({ server: { allowedHosts: true } }) };
  const { url, server }: { url: string; server: ViteDevServer } = await startDevServer({ plugins: opts.host ? [anyHost] : [] });
  const args = opts.host ? [`--host-resolver-rules=MAP ${opts.host} 127.0.0.1`] : [];
  const chromium: Chromium = await launchChromium({ webgpu: opts.webgpu, args });
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const base = opts.host ? url.replace('localhost', opts.host) : url;
  await page.goto(base + path);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  return {
    url: base,
    page,
    errors,
    async close() {
      await chromium.close();
      await server.close();
    },
  };
}
