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

/** One engine loaded in this page, measured step by step so that the driver can alternate engines. */
export interface PeerEngine {
  detail: string;
  loadMs: number;
  /** The greedy continuation of `prompt` (EOS ignored), as text. */
  greedy(prompt: string, tokens: number): Promise<string>;
  /** Decode tokens/s of `streams` sequences together over `steps` steps; wllama also gives the wall-clock figure. */
  rate(streams: number, steps: number, prompt: string): Promise<{ rate: number; wall?: number }>;
  dispose(): Promise<void>;
}

export interface PeerRun {
  text: string;
  /** Decode tokens/s (all streams together) per stream count: the best of the alternated repeats. */
  rates: Record<number, number>;
  /** wllama only: the same tokens over the requests' wall-clock time less the longest prompt phase (its server loop's polling included). */
  wallRates?: Record<number, number>;
  loadMs: number;
  detail: string;
}

/** Folio: the GGUF at `base/file` through loadGguf into WasmCpuBackend on one thread. */
async function folio(base: string, file: string, maxStreams: number, maxSteps: number): Promise<PeerEngine> {
  const t0 = performance.now();
  const { weights, tokenizerJson, tokenizerConfig } = await loadGguf(ggufSource(new UrlSource(base), file));
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, {});
  const blocksPer = Math.ceil((maxSteps + 1) / BLOCK);
  const backend = await WasmCpuBackend.create(weights, { blockSize: BLOCK, numBlocks: maxStreams * blocksPer, threads: 1 });
  const table = (s: number) => Array.from({ length: blocksPer }, (_, b) => s * blocksPer + b);
  const V = weights.config.vocabSize;
  return {
    detail: `${[...backend.formats].join(', ')}; ${backend.simd} SIMD; ${backend.threadsDescription}`,
    loadMs: performance.now() - t0,
    async greedy(prompt, tokens) {
      const promptIds = tokenizer.encode(prompt);
      const ids: number[] = [];
      let logits = (await backend.forward({ logits: 'last', chunks: [{ tokens: promptIds, startPos: 0, blockTable: table(0) }] }))[0];
      for (let i = 0; i < tokens; i++) {
        ids.push(argmax(logits));
        logits = (await backend.forward({ logits: 'last', chunks: [{ tokens: [ids[i]], startPos: promptIds.length + i, blockTable: table(0) }] }))[0];
      }
      return tokenizer.decode([...promptIds, ...ids]).slice(tokenizer.decode(promptIds).length);
    },
    async rate(n, steps) {
      const times: number[] = [];
      const warm = Math.min(steps, 4);
      for (let i = 0; i < warm + steps; i++) {
        const pos = i < warm ? i : i - warm;
        const t = performance.now();
        await backend.forward({ logits: 'last', chunks: Array.from({ length: n }, (_, s) => ({ tokens: [(s * 977 + pos * 131 + 7) % V], startPos: pos, blockTable: table(s) })) });
        if (i >= warm) times.push(performance.now() - t);
      }
      return { rate: (n * 1000) / median(times) };
    },
    async dispose() {
      backend.dispose();
    },
  };
}

interface Timings {
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
}

/** wllama: llama.cpp's server loop in WebAssembly, one thread, WebGPU off, a slot per stream. */
async function wllama(wasmUrl: string, modelUrl: string, maxStreams: number, maxSteps: number): Promise<PeerEngine> {
  // A URL, not the bare specifier: the dev server serves it as it is, with no dependency pre-bundling
  // discovered mid-run (which reloads the page).
  const url = '/node_modules/@wllama/wllama/esm/index.js';
  const { Wllama } = (await import(/* @vite-ignore */ url)) as WllamaModule;
  const t0 = performance.now();
  const w = new Wllama({ default: wasmUrl }, { suppressNativeLog: true, logger: { debug() {}, log() {}, info() {}, warn() {}, error: console.error } as unknown as Console });
  const blob = await (await fetch(modelUrl)).blob();
  await w.loadModel([blob], { n_threads: 1, n_gpu_layers: 0, n_parallel: maxStreams, n_ctx: maxStreams * (maxSteps + 32), n_batch: 512, warmup: false });
  const complete = (prompt: string, max: number) =>
    w.createCompletion({ prompt, max_tokens: max, temperature: 0, ignore_eos: true, top_k: 1, cache_prompt: false } as Parameters<typeof w.createCompletion>[0] & { stream?: false });
  return {
    detail: `${w.getNumThreads()} thread(s), multithread build ${w.isMultithread()}`,
    loadMs: performance.now() - t0,
    async greedy(prompt, tokens) {
      return (await complete(prompt, tokens)).choices[0].text;
    },
    async rate(n, steps, prompt) {
      const t = performance.now();
      const results = await Promise.all(Array.from({ length: n }, (_, i) => complete(`${prompt} ${i}`, steps)));
      const wall = performance.now() - t;
      const timings = results.map((r) => r.timings as Timings | undefined);
      if (timings.some((x) => !x)) throw new Error('wllama returned no timings');
      const tokens = timings.reduce((a, x) => a + x!.predicted_n, 0);
      // The slots decode in the same steps, so their decode phases overlap: all tokens over the longest phase.
      return { rate: (tokens * 1000) / Math.max(...timings.map((x) => x!.predicted_ms)), wall: (tokens * 1000) / (wall - Math.max(...timings.map((x) => x!.prompt_ms))) };
    },
    async dispose() {
      await w.exit();
    },
  };
}

let current: PeerEngine | null = null;

/** The page's one engine, driven by cpuPeer.ts through page.evaluate. */
export const cpuPeer = {
  async load(which: 'folio' | 'wllama', a: { base: string; file: string; wasm: string; maxStreams: number; maxSteps: number }): Promise<{ detail: string; loadMs: number }> {
    current = which === 'folio' ? await folio(a.base, a.file, a.maxStreams, a.maxSteps) : await wllama(a.wasm, `${a.base}/${a.file}`, a.maxStreams, a.maxSteps);
    return { detail: current.detail, loadMs: current.loadMs };
  },
  greedy: (prompt: string, tokens: number) => current!.greedy(prompt, tokens),
  rate: (n: number, steps: number, prompt: string) => current!.rate(n, steps, prompt),
  dispose: async () => {
    await current?.dispose();
    current = null;
  },
};
export type CpuPeer = typeof cpuPeer;
(window as unknown as { cpuPeer: CpuPeer }).cpuPeer = cpuPeer;
