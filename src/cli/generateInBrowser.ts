import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { launchChromium } from '../browser/chromium.ts';
import { ROOT, startDevServer } from '../browser/devServer.ts';
import { checkFileName } from '../model/ModelSource.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';
import { DRAFT_ROUTE, localModel, MODEL_ROUTE, runGeneratePage } from './generatePageRun.ts';

/** Serves the files of one folder under `route` (MODEL_ROUTE, DRAFT_ROUTE), GET and HEAD, nothing outside it. */
function serveFolder(folder: string, route: string): Plugin {
  return {
    name: `folio-model-folder${route.replaceAll('/', '-')}`,
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        if (!path.startsWith(route)) return next();
        let name: string;
        try {
          name = decodeURIComponent(path.slice(route.length));
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
  const model = localModel(req.model);
  const draft = req.draftModel === undefined ? undefined : localModel(req.draftModel);
  const folders = [...(model.folder ? [serveFolder(model.folder, MODEL_ROUTE)] : []), ...(draft?.folder ? [serveFolder(draft.folder, DRAFT_ROUTE)] : [])];
  const { url, server } = await startDevServer({ plugins: [ownDepsCache(), ...folders] });
  try {
    const chromium = await launchChromium();
    try {
      return await runGeneratePage(await chromium.context.newPage(), `${url}/src/cli/generatePage.html`, req, model, onText, draft);
    } finally {
      await chromium.close();
    }
  } finally {
    await server.close();
  }
}
