// `folio generate --backend webgpu` as the installed package runs it (vite.lib.config.ts puts
// this in place of src/cli/generateInBrowser.ts): no Vite at run time, so the page is the
// prebuilt dist-lib/cli/page/, served with the model folder by a plain HTTP server.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../src/browser/chromium.ts';
import type { GenerateRequest, GenerateResult } from '../../src/cli/GenerateRequest.ts';
import { localModel, MODEL_ROUTE, runGeneratePage } from '../../src/cli/generatePageRun.ts';
import { checkFileName } from '../../src/model/ModelSource.ts';
import { findChromium } from './findChromium.ts';

/** Beside this module once bundled (dist-lib/cli/main.js): the prebuilt page. */
const PAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'page');
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
  const model = localModel(req.model);
  const site = await serve(model.folder);
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    return await runGeneratePage(await browser.newPage(), `${site.url}/generatePage.html`, req, model, onText);
  } finally {
    await browser.close();
    await site.close();
  }
}
