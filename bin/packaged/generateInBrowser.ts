// `folio generate --backend webgpu` as the installed package runs it (vite.lib.config.ts puts
// this in place of src/cli/generateInBrowser.ts): no Vite at run time, so the page is the
// prebuilt dist-lib/cli/page/, served with the model folder by a plain HTTP server.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { reviveError } from '../../src/api/errorTransfer.ts';
import { CHROMIUM_ARGS } from '../../src/browser/chromium.ts';
import type { GenerateRequest, GenerateResult } from '../../src/cli/GenerateRequest.ts';
import type { GeneratePageWindow, PageOutcome } from '../../src/cli/generatePage.ts';
import { ModelFormatError } from '../../src/errors.ts';
import { checkFileName } from '../../src/model/ModelSource.ts';
import { findChromium } from './findChromium.ts';

/** Beside this module once bundled (dist-lib/cli/main.js): the prebuilt page. */
const PAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'page');
const MODEL_ROUTE = '/__folio-model/';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json' };

/** Serves the page at `/` and one model folder under MODEL_ROUTE (GET and HEAD, nothing else). */
async function serve(modelFolder: string | null): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let file: string;
    try {
      const name = decodeURIComponent(path.startsWith(MODEL_ROUTE) ? path.slice(MODEL_ROUTE.length) : path.slice(1));
      // One plain file name in either folder: no `..`, no subfolders beyond the page's assets.
      if (path.startsWith(MODEL_ROUTE)) {
        if (!modelFolder) throw new Error('no local model');
        checkFileName(name);
        file = join(modelFolder, name);
      } else {
        if (name.split('/').some((p) => p === '..' || p === '')) throw new Error('bad path');
        file = join(PAGE_DIR, name);
      }
    } catch {
      return void res.writeHead(400).end();
    }
    const stat = existsSync(file) ? statSync(file) : null;
    if (!stat?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': stat.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the page server has no TCP address');
  // localhost, not 127.0.0.1: a secure context, where WebGPU exists.
  return { url: `http://localhost:${address.port}`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

export async function generateInBrowser(req: GenerateRequest, onText?: (text: string) => void): Promise<GenerateResult & { adapter: string }> {
  const executablePath = findChromium();
  const remote = /^(https?:\/\/|hf:)/i.test(req.model);
  const local = remote ? null : resolve(req.model);
  const ggufFile = local && /\.gguf$/i.test(local) ? basename(local) : null;
  const folder = local && ggufFile ? dirname(local) : local;
  if (folder && ggufFile && !existsSync(local!)) throw new ModelFormatError(ggufFile, `not found in folder ${folder}`);
  if (folder && !ggufFile && !existsSync(join(folder, 'config.json'))) throw new ModelFormatError('config.json', `not found in folder ${folder}`);
  const site = await serve(folder);
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.exposeFunction('folioCliText', (text: string) => onText?.(text));
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${site.url}/generatePage.html`);
    try {
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
    } catch (e) {
      throw new Error(`the generate page did not start in Chromium (${(e as Error).message})${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
    }
    const served = ggufFile ? MODEL_ROUTE + encodeURIComponent(ggufFile) : MODEL_ROUTE.slice(0, -1);
    const pageReq: GenerateRequest = { ...req, model: folder ? served : req.model };
    const outcome: PageOutcome = await page.evaluate((r) => (window as unknown as GeneratePageWindow).folioGenerate(r), pageReq);
    if (!outcome.ok) throw reviveError(outcome.error);
    return { ...outcome.result, adapter: outcome.adapter };
  } finally {
    await browser.close();
    await site.close();
  }
}
