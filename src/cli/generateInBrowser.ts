import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { reviveError } from '../api/errorTransfer.ts';
import { launchChromium } from '../browser/chromium.ts';
import { ROOT, startDevServer } from '../browser/devServer.ts';
import { ModelFormatError } from '../errors.ts';
import { checkFileName } from '../model/ModelSource.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';
import type { GeneratePageWindow, PageOutcome } from './generatePage.ts';

/** Where the dev server serves a local model folder (any folder, inside the repository or not). */
const MODEL_ROUTE = '/__folio-model/';

/** Serves the files of one folder under MODEL_ROUTE, GET and HEAD, nothing outside it. */
function serveFolder(folder: string): Plugin {
  return {
    name: 'folio-model-folder',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        if (!path.startsWith(MODEL_ROUTE)) return next();
        let name: string;
        try {
          name = decodeURIComponent(path.slice(MODEL_ROUTE.length));
          checkFileName(name);
        } catch {
          res.statusCode = 400;
          return res.end();
        }
        const file = join(folder, name);
        const stat = existsSync(file) ? statSync(file) : null;
        if (!stat?.isFile()) {
          res.statusCode = 404;
          return res.end();
        }
        res.setHeader('Content-Length', stat.size);
        res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).pipe(res);
      });
    },
  };
}

/**
 * The CLI's own Vite dependency cache: dev servers that share one (the browser tests', the
 * app's) re-optimize it when their configs differ, and a page loading meanwhile can get a stale
 * dependency (504) and never start, since HMR (which would reload it) is off.
 */
function ownDepsCache(): Plugin {
  return { name: 'folio-cli-deps-cache', config: () => ({ cacheDir: resolve(ROOT, 'node_modules', '.vite-folio-cli') }) };
}

/**
 * `folio generate --backend webgpu`: the same loop as the CPU path (generateLoop.ts), run in
 * headless Chromium on its WebGPU (SwiftShader on these machines). Starts the Vite dev server
 * (which also serves a local model folder), opens src/cli/generatePage.html, and streams the
 * text back through a Playwright binding as the page produces it.
 */
export async function generateInBrowser(req: GenerateRequest, onText?: (text: string) => void): Promise<GenerateResult & { adapter: string }> {
  const remote = /^(https?:\/\/|hf:)/i.test(req.model);
  const local = remote ? null : resolve(req.model);
  // A local .gguf file is served from its folder, like a Hugging Face folder's files.
  const ggufFile = local && /\.gguf$/i.test(local) ? basename(local) : null;
  const folder = local && ggufFile ? dirname(local) : local;
  if (folder && ggufFile && !existsSync(local!)) throw new ModelFormatError(ggufFile, `not found in folder ${folder}`);
  if (folder && !ggufFile && !existsSync(join(folder, 'config.json'))) throw new ModelFormatError('config.json', `not found in folder ${folder}`);
  const { url, server } = await startDevServer({ plugins: [ownDepsCache(), ...(folder ? [serveFolder(folder)] : [])] });
  try {
    const chromium = await launchChromium();
    try {
      const page = await chromium.context.newPage();
      await page.exposeFunction('folioCliText', (text: string) => onText?.(text));
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().includes('404')) pageErrors.push(m.text());
      });
      await page.goto(`${url}/src/cli/generatePage.html`);
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
      await chromium.close();
    }
  } finally {
    await server.close();
  }
}
