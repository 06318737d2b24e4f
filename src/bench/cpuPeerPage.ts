/**
 * The browser half of the CPU section's peer comparison (cpuPeer.ts drives it): in one headless
 * Chromium page, Folio's WebAssembly CPU backend and wllama (llama.cpp in WebAssembly, served from
 * node_modules by the dev server) each load the same GGUF file, decode greedily from the same
 * prompt, and decode 1, 4 and 8 streams; both on one thread.
 */
import { WasmCpuBackend } from '../cpu/wasm/WasmCpuBackend.ts';
import { loadGguf } from '../gguf/loadGguf.ts';
import { ggufSource, UrlSource } from '../model/ModelSource.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';

type WllamaModule = typeof import('@wllama/wllama');

const BLOCK = 16;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export interface PeerRun {
  /** The greedy continuation of the prompt (ignoring EOS). */
  text: string;
  ids: number[];
  /** Decode tokens/s (all streams together) per stream count. */
  rates: Record<number, number>;
  /** wllama only: the same tokens over the requests' wall-clock time less the longest prompt phase (its server loop's polling included). */
  wallRates?: Record<number, number>;
  loadMs: number;
  detail: string;
}

/** Folio: the GGUF at `base/file` through loadGguf into WasmCpuBackend on one thread. */
async function folio(base: string, file: string, prompt: string, greedyTokens: number, streams: number[], steps: number): Promise<PeerRun> {
  const t0 = performance.now();
  const { weights, tokenizerJson, tokenizerConfig } = await loadGguf(ggufSource(new UrlSource(base), file));
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, {});
  const maxStreams = Math.max(...streams);
  const blocksPer = Math.ceil((Math.max(steps, greedyTokens + 64) + 1) / BLOCK);
  const backend = await WasmCpuBackend.create(weights, { blockSize: BLOCK, numBlocks: maxStreams * blocksPer, threads: 1 });
  const loadMs = performance.now() - t0;
  try {
    const table = (s: number) => Array.from({ length: blocksPer }, (_, b) => s * blocksPer + b);
    const promptIds = tokenizer.encode(prompt);
    const ids: number[] = [];
    let logits = (await backend.forward({ logits: 'last', chunks: [{ tokens: promptIds, startPos: 0, blockTable: table(0) }] }))[0];
    for (let i = 0; i < greedyTokens; i++) {
      ids.push(argmax(logits));
      logits = (await backend.forward({ logits: 'last', chunks: [{ tokens: [ids[i]], startPos: promptIds.length + i, blockTable: table(0) }] }))[0];
    }
    const text = tokenizer.decode([...promptIds, ...ids]).slice(tokenizer.decode(promptIds).length);
    const rates: Record<number, number> = {};
    const V = weights.config.vocabSize;
    for (const n of streams) {
      const times: number[] = [];
      const warm = Math.min(steps, 4);
      for (let i = 0; i < warm + steps; i++) {
        const pos = i < warm ? i : i - warm;
        const t = performance.now();
        await backend.forward({ logits: 'last', chunks: Array.from({ length: n }, (_, s) => ({ tokens: [(s * 977 + pos * 131 + 7) % V], startPos: pos, blockTable: table(s) })) });
        if (i >= warm) times.push(performance.now() - t);
      }
      rates[n] = (n * 1000) / median(times);
    }
    return { text, ids, rates, loadMs, detail: `${[...backend.formats].join(', ')}; ${backend.threadsDescription}` };
  } finally {
    backend.dispose();
  }
}

interface Timings {
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
}

/** wllama: llama.cpp's server loop in WebAssembly, one thread, WebGPU off, n_parallel slots. */
async function wllama(wasmUrl: string, modelUrl: string, prompt: string, greedyTokens: number, streams: number[], steps: number): Promise<PeerRun> {
  // A URL, not the bare specifier: the dev server serves it as it is, with no dependency pre-bundling
  // discovered mid-run (which reloads the page).
  const url = '/node_modules/@wllama/wllama/esm/index.js';
  const { Wllama } = (await import(/* @vite-ignore */ url)) as WllamaModule;
  const t0 = performance.now();
  const w = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: { debug() {}, log() {}, info() {}, warn() {}, error: console.error } as unknown as Console });
  const blob = await (await fetch(modelUrl)).blob();
  const maxStreams = Math.max(...streams);
  const perSeq = Math.max(steps, greedyTokens) + 64;
  await w.loadModel([blob], { n_threads: 1, n_gpu_layers: 0, n_parallel: maxStreams, n_ctx: maxStreams * perSeq, n_batch: 512, warmup: false });
  const loadMs = performance.now() - t0;
  try {
    const complete = (max: number, i: number) =>
      w.createCompletion({ prompt: i === 0 ? prompt : `${prompt} ${i}`, max_tokens: max, temperature: 0, ignore_eos: true, top_k: 1, cache_prompt: false } as Parameters<typeof w.createCompletion>[0] & { stream?: false });
    const greedy = await complete(greedyTokens, 0);
    const rates: Record<number, number> = {};
    const wallRates: Record<number, number> = {};
    for (const n of streams) {
      const t = performance.now();
      const results = await Promise.all(Array.from({ length: n }, (_, i) => complete(steps, i)));
      const wall = performance.now() - t;
      const timings = results.map((r) => r.timings as Timings | undefined);
      if (timings.some((t) => !t)) throw new Error('wllama returned no timings');
      const tokens = timings.reduce((a, t) => a + t!.predicted_n, 0);
      // The slots decode in the same steps, so their decode phases overlap: all tokens over the longest phase.
      rates[n] = (tokens * 1000) / Math.max(...timings.map((t) => t!.predicted_ms));
      wallRates[n] = (tokens * 1000) / (wall - Math.max(...timings.map((t) => t!.prompt_ms)));
    }
    return { text: greedy.choices[0].text, ids: [], rates, wallRates, loadMs, detail: `${w.getNumThreads()} thread(s), multithread build ${w.isMultithread()}` };
  } finally {
    await w.exit();
  }
}

export const cpuPeer = { folio, wllama };
export type CpuPeer = typeof cpuPeer;
(window as unknown as { cpuPeer: CpuPeer }).cpuPeer = cpuPeer;
