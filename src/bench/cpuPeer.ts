/**
 * The CPU section's peer: Folio's WebAssembly CPU backend and wllama (`@wllama/wllama`, llama.cpp in
 * WebAssembly; its npm package carries its .wasm, served from node_modules by the dev server) in the
 * same headless Chromium, on the same GGUF file, one thread each (cpuPeerPage.ts runs both). Models:
 * stories260K (the shared F32 and Q8_0 GGUFs) and the SmolLM2-135M shape (synthetic weights written
 * as GGUF by syntheticGguf.ts into a temporary folder). Nothing is fetched from the internet.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Plugin } from 'vite';
import { launchChromium } from '../browser/chromium.ts';
import { startDevServer } from '../browser/devServer.ts';
import { SMOLLM2_135M } from '../model/synthetic.ts';
import type { WeightFormat } from '../quant/index.ts';
import type { CpuPeer, PeerRun } from './cpuPeerPage.ts';
import { writeSyntheticGguf } from './syntheticGguf.ts';

export const SHARED_GGUF = '/work/shared/models/gguf';
const PROMPT = 'Once upon a time';
const WASM = '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';

export interface PeerRow {
  model: string;
  format: string;
  folio: PeerRun;
  wllama: PeerRun;
  /** Whether the greedy continuations are the same text. */
  sameText: boolean;
}

/** Serves `files` (name -> path) under /__peer/ with the dev server's isolation headers. */
function serveFiles(files: Map<string, string>): Plugin {
  return {
    name: 'folio-bench-peer-files',
    configureServer(server) {
      server.middlewares.use('/__peer', (req, res, next) => {
        const path = files.get(decodeURIComponent((req.url ?? '').replace(/^\//, '').replace(/[?#].*$/, '')));
        if (!path) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(path).size));
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        createReadStream(path).pipe(res);
      });
    },
  };
}

export interface PeerCase {
  model: string;
  format: string;
  /** A GGUF file on disk, or a synthetic model to write. */
  file: string | { format: WeightFormat };
  greedyTokens: number;
  steps: number;
}

export async function runPeers(cases: PeerCase[], streams: number[], log: (m: string) => void): Promise<PeerRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'folio-peer-'));
  const files = new Map<string, string>();
  const named = cases.map((c) => {
    let path: string;
    if (typeof c.file === 'string') path = c.file;
    else {
      path = join(dir, `smollm2-135m-shape-${c.file.format}.gguf`);
      const bytes = writeSyntheticGguf(path, SMOLLM2_135M, c.file.format, 7);
      log(`cpu peer: wrote ${path} (${(bytes / 2 ** 20).toFixed(0)} MiB)`);
    }
    files.set(basename(path), path);
    return { ...c, name: basename(path) };
  });
  const { url, server } = await startDevServer({ plugins: [serveFiles(files)] });
  const chromium = await launchChromium({ webgpu: false });
  const rows: PeerRow[] = [];
  try {
    for (const c of named) {
      // A fresh page per engine, so that one's memory is gone before the other loads.
      const run = async (which: 'folio' | 'wllama'): Promise<PeerRun> => {
        const page = await chromium.context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        try {
          await page.goto(`${url}/src/bench/cpuPeer.html`);
          await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
          const args = { which, url, name: c.name, prompt: PROMPT, greedy: c.greedyTokens, streams, steps: c.steps, wasm: WASM };
          return await page.evaluate(async (a) => {
            const p = (window as unknown as { cpuPeer: CpuPeer }).cpuPeer;
            return a.which === 'folio'
              ? p.folio(`${a.url}/__peer`, a.name, a.prompt, a.greedy, a.streams, a.steps)
              : p.wllama(`${a.url}${a.wasm}`, `${a.url}/__peer/${a.name}`, a.prompt, a.greedy, a.streams, a.steps);
          }, args);
        } catch (e) {
          throw new Error(`${which} on ${c.name}: ${e instanceof Error ? e.message : String(e)}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`);
        } finally {
          await page.close();
        }
      };
      const folio = await run('folio');
      const wllama = await run('wllama');
      const sameText = folio.text.trim() === wllama.text.trim();
      log(`cpu peer: ${c.model} ${c.format}: ${streams.map((s) => `x${s} folio ${folio.rates[s].toFixed(1)} / wllama ${wllama.rates[s].toFixed(1)} tok/s`).join(', ')}; greedy text ${sameText ? 'identical' : 'differs'}`);
      rows.push({ model: c.model, format: c.format, folio, wllama, sameText });
    }
  } finally {
    await chromium.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function peerCases(quick: boolean, smollm: boolean): PeerCase[] {
  const cases: PeerCase[] = [
    { model: 'stories260K', format: 'f32', file: join(SHARED_GGUF, 'stories260K-F32.gguf'), greedyTokens: 64, steps: quick ? 32 : 64 },
    { model: 'stories260K', format: 'q8_0', file: join(SHARED_GGUF, 'stories260K-Q8_0.gguf'), greedyTokens: 64, steps: quick ? 32 : 64 },
  ];
  if (smollm) {
    cases.push({ model: 'SmolLM2-135M shape', format: 'q8_0', file: { format: 'Q8_0' }, greedyTokens: 16, steps: quick ? 8 : 24 });
    cases.push({ model: 'SmolLM2-135M shape', format: 'f32', file: { format: 'F32' }, greedyTokens: 16, steps: quick ? 8 : 24 });
  }
  return cases;
}
