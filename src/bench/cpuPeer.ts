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
import type { Page } from 'playwright-core';
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

/** Alternations of Folio and wllama per stream count; each engine's best is kept (a burst of other load then hits one repeat, not the figure). */
const REPEATS = 2;

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
      // One page per engine, both loaded, measured in turns: load drifts on a shared machine, and
      // alternating spreads it over both.
      const pages: Array<{ which: 'folio' | 'wllama'; page: Page; errors: string[] }> = [];
      const call = async <M extends keyof CpuPeer>(p: (typeof pages)[number], method: M, ...args: Parameters<CpuPeer[M]>): Promise<Awaited<ReturnType<CpuPeer[M]>>> => {
        try {
          return (await p.page.evaluate(
            ([m, a]) => ((window as unknown as { cpuPeer: Record<string, (...x: unknown[]) => unknown> }).cpuPeer[m] as (...x: unknown[]) => unknown)(...a),
            [method, args] as [string, unknown[]],
          )) as Awaited<ReturnType<CpuPeer[M]>>;
        } catch (e) {
          throw new Error(`${p.which} on ${c.name}: ${e instanceof Error ? e.message : String(e)}${p.errors.length ? ` (page errors: ${p.errors.join('; ')})` : ''}`);
        }
      };
      try {
        const maxSteps = Math.max(c.steps + 8, c.greedyTokens + 16);
        const loaded: Record<string, { detail: string; loadMs: number }> = {};
        for (const which of ['folio', 'wllama'] as const) {
          const page = await chromium.context.newPage();
          const p = { which, page, errors: [] as string[] };
          page.on('pageerror', (e) => p.errors.push(e.message));
          pages.push(p);
          await page.goto(`${url}/src/bench/cpuPeer.html`);
          await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
          loaded[which] = await call(p, 'load', which, { base: `${url}/__peer`, file: c.name, wasm: `${url}${WASM}`, maxStreams: Math.max(...streams), maxSteps });
        }
        const texts: string[] = [];
        for (const p of pages) texts.push(await call(p, 'greedy', PROMPT, c.greedyTokens));
        const best = { folio: {} as Record<number, number>, wllama: {} as Record<number, number>, wall: {} as Record<number, number> };
        for (const n of streams) {
          for (let rep = 0; rep < REPEATS; rep++) {
            for (const p of pages) {
              const r = await call(p, 'rate', n, c.steps, PROMPT);
              best[p.which][n] = Math.max(best[p.which][n] ?? 0, r.rate);
              if (r.wall !== undefined) best.wall[n] = Math.max(best.wall[n] ?? 0, r.wall);
            }
          }
        }
        const folio: PeerRun = { text: texts[0], rates: best.folio, loadMs: loaded.folio.loadMs, detail: loaded.folio.detail };
        const wllama: PeerRun = { text: texts[1], rates: best.wllama, wallRates: best.wall, loadMs: loaded.wllama.loadMs, detail: loaded.wllama.detail };
        const sameText = folio.text.trim() === wllama.text.trim();
        log(`cpu peer: ${c.model} ${c.format}: ${streams.map((s) => `x${s} folio ${folio.rates[s].toFixed(1)} / wllama ${wllama.rates[s].toFixed(1)} tok/s`).join(', ')}; greedy text ${sameText ? 'identical' : 'differs'}`);
        rows.push({ model: c.model, format: c.format, folio, wllama, sameText });
        for (const p of pages) await call(p, 'dispose');
      } finally {
        for (const p of pages) await p.page.close();
      }
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
