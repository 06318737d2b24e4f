/**
 * The CPU section (issue 15): decode tokens/s of the CPU backend's kernels, the TypeScript reference
 * ('js') against WebAssembly SIMD ('wasm'), at 1, 4 and 8 streams, for stories260K (f32, and q8_0 /
 * q4_0 quantized on load) and the SmolLM2-135M shape (synthetic weights; f32, q8_0, q4_0).
 *
 * Measured on the backend alone (no engine, no sampling): every step decodes one token for every
 * stream in one forward call, as the engine batches them (stepTimes, measure). The JS kernels widen every format to
 * f32 at load (they compute the oracle), so they are timed on f32 only. WebAssembly runs on 1 and 2
 * threads (its matmuls split across a worker pool). The peer, wllama, runs beside Folio in headless
 * Chromium on the same GGUF files (cpuPeer.ts), one thread each.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { CpuBackend } from '../cpu/CpuBackend.ts';
import { F16_TABLE_BYTES, instantiateKernels, matmulOf, PAGE, relaxedSimdAvailable } from '../cpu/wasm/kernels.ts';
import { placeRowQuads } from '../cpu/wasm/rowQuads.ts';
import { matmulScratchBytes } from '../cpu/wasm/wat/chunked.ts';
import { WasmCpuBackend } from '../cpu/wasm/WasmCpuBackend.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { SMOLLM2_135M } from '../model/synthetic.ts';
import type { ModelWeights } from '../model/weights.ts';
import { quantize } from '../quant/index.ts';
import { quantizeModel } from '../quant/quantizeModel.ts';
import { peerCases, type PeerRow, runPeers } from './cpuPeer.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt, median } from './stats.ts';
import { syntheticPacked } from './weights.ts';

const STREAMS = [1, 4, 8];
const BLOCK = 16;

export interface CpuRow {
  model: string;
  format: string;
  kernels: 'js' | 'wasm';
  threads: number;
  streams: number;
  tokensPerSecond: number;
  /** Tokens per second of this process's CPU time (all its threads): what the work costs, whatever else runs on the machine. */
  tokensPerCpuSecond: number;
  steps: number;
}

/**
 * Step times of `backend` with `streams` sequences: `steps` steps (after `warm` warm-up steps), each
 * one forward of one token per stream at positions 0, 1, 2, ..., and this process's CPU time over
 * them. No prefill: at these lengths attention is a sliver of a step, and a prefill would cost the JS
 * reference minutes.
 */
async function stepTimes(backend: ForwardBackend, streams: number, steps: number, warm: number, vocab: number): Promise<{ times: number[]; cpuMicros: number }> {
  const blocksPer = Math.ceil((steps + 1) / BLOCK);
  const tables = Array.from({ length: streams }, (_, s) => Array.from({ length: blocksPer }, (_, b) => s * blocksPer + b));
  const times: number[] = [];
  let cpuMicros = 0;
  for (let i = 0; i < warm + steps; i++) {
    const c0 = process.cpuUsage();
    const pos = i < warm ? i : i - warm;
    const t0 = performance.now();
    await backend.forward({ logits: 'last', chunks: tables.map((blockTable, s) => ({ tokens: [(s * 977 + pos * 131 + 7) % vocab], startPos: pos, blockTable })) });
    if (i >= warm) {
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
    }
  }
  return { times, cpuMicros };
}

/**
 * Decode tokens/s at 1, 4 and 8 streams: `rounds` rounds, each running every stream count for `steps`
 * steps in turn, so that a burst of other load on the shared cores falls on all stream counts alike
 * (the 8-over-1 ratio is the claim); streams / the median of all rounds' step times, which a burst
 * moves less than a mean. The first round warms the JIT first (the JS kernels' first step runs
 * unoptimized code).
 */
async function measure(model: string, format: string, weights: ModelWeights, kernels: 'js' | 'wasm', threads: number, steps: number, log: (m: string) => void): Promise<CpuRow[]> {
  const opts = { blockSize: BLOCK, numBlocks: 8 * Math.ceil((steps + 1) / BLOCK), threads };
  const backend = kernels === 'js' ? new CpuBackend(weights, opts) : await WasmCpuBackend.create(weights, opts);
  const rounds = kernels === 'js' ? 1 : 5;
  const runs = STREAMS.map(() => ({ times: [] as number[], cpuMicros: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, streams] of STREAMS.entries()) {
      const { times, cpuMicros } = await stepTimes(backend, streams, steps, round === 0 ? Math.min(steps, 8) : 1, weights.config.vocabSize);
      runs[i].times.push(...times);
      runs[i].cpuMicros += cpuMicros;
    }
  }
  const rows = STREAMS.map((streams, i): CpuRow => {
    const wall = (streams * 1000) / median(runs[i].times);
    const cpu = (streams * runs[i].times.length * 1e6) / runs[i].cpuMicros;
    log(`cpu: ${model} ${format} ${kernels} ${threads}T x${streams}: ${fmt(wall)} tokens/s, ${fmt(cpu)} per CPU-second`);
    return { model, format, kernels, threads, streams, tokensPerSecond: wall, tokensPerCpuSecond: cpu, steps: runs[i].times.length };
  });
  backend.dispose();
  return rows;
}

export interface MatmulRow {
  format: 'f32' | 'q8_0' | 'q4_0';
  rows: number;
  cols: number;
  /** Activation rows sharing each weight read (streams in a decode step). */
  m: number;
  gmacPerSecond: number;
  weightGBPerSecond: number;
}

const MATMUL_SHAPES = [
  [1536, 576],
  [576, 1536],
  [49152, 576],
] as const;

/**
 * The matmul kernel alone, one thread, on SmolLM2-135M's products (gate/up, down, the head), for
 * m = 1, 2, 4, 8 activation rows: GMAC/s says whether more rows per weight read buy arithmetic,
 * weight GB/s whether one row is bound by memory. The head (113 MB in f32) streams from DRAM; the
 * others fit in the last-level cache here, unlike a whole model's layers in a real decode step.
 * Best of several timed turns, as other processes share the cores.
 */
async function matmulRates(quick: boolean, log: (m: string) => void): Promise<{ simd: string; rows: MatmulRow[] }> {
  const maxWeight = 49152 * 576 * 4;
  const xAt = F16_TABLE_BYTES + maxWeight;
  const yAt = xAt + 8 * 1536 * 4;
  const scratch = yAt + 8 * 49152 * 4;
  const matmulScratch = scratch + 4 * 1536 * 4;
  const pages = Math.ceil((matmulScratch + matmulScratchBytes(8)) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const simd = relaxedSimdAvailable() ? 'relaxed' : 'plain';
  const k = await instantiateKernels(memory, 0, false, simd);
  let seed = 1;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  new Float32Array(memory.buffer, xAt, 8 * 1536).set(Float32Array.from({ length: 8 * 1536 }, rand));
  const rows: MatmulRow[] = [];
  for (const format of ['f32', 'q8_0', 'q4_0'] as const) {
    for (const [R, C] of MATMUL_SHAPES) {
      const bytes = quantize(format === 'f32' ? 'F32' : format === 'q8_0' ? 'Q8_0' : 'Q4_0', Float32Array.from({ length: R * C }, rand));
      new Uint8Array(memory.buffer, F16_TABLE_BYTES, bytes.length).set(bytes);
      placeRowQuads(k, { at: F16_TABLE_BYTES, format, rows: R, cols: C, rowBytes: bytes.length / R }, scratch);
      const kernel = matmulOf(k, format);
      for (const m of [1, 2, 4, 8]) {
        const reps = Math.max(1, Math.round(2e7 / (R * C * m)));
        let best = Infinity;
        for (let turn = 0; turn < (quick ? 3 : 7); turn++) {
          const t0 = performance.now();
          for (let i = 0; i < reps; i++) kernel(F16_TABLE_BYTES, bytes.length / R, xAt, yAt, R, C, m, 0, R, matmulScratch);
          best = Math.min(best, (performance.now() - t0) / 1000 / reps);
        }
        const row = { format, rows: R, cols: C, m, gmacPerSecond: (R * C * m) / best / 1e9, weightGBPerSecond: bytes.length / best / 1e9 };
        log(`cpu: matmul ${format} ${R}x${C} m=${m}: ${fmt(row.gmacPerSecond, 2)} GMAC/s, weights ${fmt(row.weightGBPerSecond, 1)} GB/s`);
        rows.push(row);
      }
    }
  }
  return { simd, rows };
}

function matmulTable(simd: string, rows: MatmulRow[]): string[] {
  return [
    '',
    `### The matmul kernel alone (one thread, ${simd} SIMD): GMAC/s (weight GB/s) by activation rows m`,
    '',
    '| weights | shape (rows x cols) | m = 1 | m = 2 | m = 4 | m = 8 | m = 8 vs 1 |',
    '|---|---|---|---|---|---|---|',
    ...[...new Set(rows.map((r) => `${r.format}|${r.rows}|${r.cols}`))].map((key) => {
      const [f, R, C] = key.split('|');
      const at = (m: number): MatmulRow => rows.find((r) => r.format === f && r.rows === Number(R) && r.cols === Number(C) && r.m === m)!;
      return `| ${f} | ${R}x${C} | ${[1, 2, 4, 8].map((m) => `${fmt(at(m).gmacPerSecond, 2)} (${fmt(at(m).weightGBPerSecond, 1)})`).join(' | ')} | ${fmt(at(8).gmacPerSecond / at(1).gmacPerSecond, 2)}x |`;
    }),
  ];
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', loadavgBefore: loadavg() };
  const rows: CpuRow[] = [];
  const matmul = await matmulRates(ctx.quick, ctx.log);
  const stories = ctx.stories.weights;
  const storiesSteps = ctx.quick ? 16 : 64;
  rows.push(...(await measure('stories260K', 'f32', stories, 'js', 1, storiesSteps, ctx.log)));
  for (const f of ['f32', 'q8_0', 'q4_0'] as const) {
    const w: ModelWeights = f === 'f32' ? stories : { ...stories, ...quantizeModel(stories.tensors, stories.config, f === 'q8_0' ? 'Q8_0' : 'Q4_0') };
    for (const threads of [1, 2]) rows.push(...(await measure('stories260K', f, w, 'wasm', threads, storiesSteps, ctx.log)));
  }
  const skipped: string[] = [];
  if (ctx.smollm) {
    // The JS reference takes seconds per token here: one timed step (after one warm-up) per stream count.
    for (const f of ['F32', 'Q8_0', 'Q4_0'] as const) {
      const w = syntheticPacked(SMOLLM2_135M, f, 7, () => {});
      if (f === 'F32') rows.push(...(await measure('SmolLM2-135M shape', 'f32', w, 'js', 1, ctx.quick ? 1 : 2, ctx.log)));
      for (const threads of [1, 2]) rows.push(...(await measure('SmolLM2-135M shape', f.toLowerCase(), w, 'wasm', threads, ctx.quick ? 4 : 12, ctx.log)));
    }
  } else skipped.push('SmolLM2-135M shape (--no-smollm)');
  let peers: PeerRow[] = [];
  try {
    peers = await runPeers(peerCases(ctx.quick, ctx.smollm), STREAMS, ctx.log);
  } catch (e) {
    skipped.push(`wllama beside Folio in headless Chromium: ${e instanceof Error ? e.message : String(e)}`);
  }
  const loadavgAfter = loadavg();
  const row = (m: string, f: string, k: string, t: number, s: number): CpuRow | undefined => rows.find((r) => r.model === m && r.format === f && r.kernels === k && r.threads === t && r.streams === s);
  const rate = (m: string, f: string, k: string, t: number, s: number): number | undefined => row(m, f, k, t, s)?.tokensPerSecond;
  const perCpu = (m: string, f: string, k: string, t: number, s: number): number | undefined => row(m, f, k, t, s)?.tokensPerCpuSecond;
  const lines = [
    '## CPU backend: WebAssembly SIMD kernels against the TypeScript reference',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}); load average ${machine.loadavgBefore.map((l) => fmt(l, 2)).join(' / ')} before, ${loadavgAfter.map((l) => fmt(l, 2)).join(' / ')} after (1/5/15 min; other processes share these cores). Decode only: one forward per step for all streams, the stream counts taken in turn over 5 rounds (WebAssembly); tokens/s = streams / median step time (wall clock); per CPU-s = tokens / this process's CPU time over those steps, all threads (the cost of the work, which a loaded machine disturbs less).`,
    '',
    '| model | weights | kernels | threads | 1 stream tok/s | 4 streams | 8 streams | 8 vs 1 | vs js f32 (1 stream) | vs 1 thread (1 stream) | per CPU-s, 1 stream | 8 streams | 8 vs 1 per CPU-s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...[...new Set(rows.map((r) => `${r.model}|${r.format}|${r.kernels}|${r.threads}`))].map((key) => {
      const [m, f, k, t] = key.split('|');
      const [one, four, eight] = STREAMS.map((s) => rate(m, f, k, Number(t), s)!);
      const js = rate(m, 'f32', 'js', 1, 1);
      const single = rate(m, f, k, 1, 1);
      const [c1, c8] = [perCpu(m, f, k, Number(t), 1)!, perCpu(m, f, k, Number(t), 8)!];
      return `| ${m} | ${f} | ${k} | ${t} | ${fmt(one)} | ${fmt(four)} | ${fmt(eight)} | ${fmt(eight / one, 2)}x | ${k === 'wasm' && js ? `${fmt(one / js, 2)}x` : ''} | ${t !== '1' && single ? `${fmt(one / single, 2)}x` : ''} | ${fmt(c1)} | ${fmt(c8)} | ${fmt(c8 / c1, 2)}x |`;
    }),
    ...matmulTable(matmul.simd, matmul.rows),
    ...peerTable(peers),
  ];
  return { markdown: lines.join('\n'), data: { machine: { ...machine, loadavgAfter }, rows, matmul, peers }, skipped };
}

/** Folio against wllama in the same Chromium, same GGUF file, one thread each. */
function peerTable(peers: PeerRow[]): string[] {
  if (peers.length === 0) return [];
  return [
    '',
    '### Folio against wllama (llama.cpp in WebAssembly), same headless Chromium, same GGUF file, one thread each',
    '',
    "Decode tokens/s of all streams together, each engine the best of 2 turns taken alternately with the other (both loaded in their own page). Folio: its WebAssembly backend (relaxed SIMD where Chromium has it), streams / median step time. wllama: llama.cpp's own timings (all slots' tokens over the longest decode phase), and in brackets over the requests' wall clock less the prompt phase (its server loop's polling included). Greedy: the continuation of \"Once upon a time\" (EOS ignored) as text, Folio's against wllama's (the random SmolLM2-shaped model repeats one token, so there it checks little).",
    '',
    '| model | weights | Folio 1 stream | wllama 1 | Folio/wllama 1 | Folio 4 | wllama 4 | Folio/wllama 4 | Folio 8 | wllama 8 | Folio/wllama 8 | Folio 8 vs 1 | wllama 8 vs 1 | greedy text |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...peers.map((p) => {
      const cell = (s: number) => `${fmt(p.folio.rates[s])} | ${fmt(p.wllama.rates[s])} (${fmt(p.wllama.wallRates?.[s] ?? NaN)}) | ${fmt(p.folio.rates[s] / p.wllama.rates[s], 2)}x`;
      return `| ${p.model} | ${p.format} | ${STREAMS.map(cell).join(' | ')} | ${fmt(p.folio.rates[8] / p.folio.rates[1], 2)}x | ${fmt(p.wllama.rates[8] / p.wllama.rates[1], 2)}x | ${p.sameText ? 'identical' : 'differs'} |`;
    }),
  ];
}

export const cpuSection: BenchSection = { name: 'cpu', needsGpu: false, run };
