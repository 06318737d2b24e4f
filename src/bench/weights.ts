/**
 * The weights section (issue 11): what each weight format costs and what it loses.
 *
 * 1. A Llama-3.2-1B-shaped model (synthetic weights, made and quantized to Q4_0 tensor by tensor,
 *    row chunk by row chunk, so that its f32 form never exists whole) loads on Dawn with the
 *    backend's limits clamped to WebGPU's defaults (128 MiB per binding, 256 MiB per buffer): the
 *    147 MB Q4_0 embedding must be split. Reports its device bytes against the f32 model's and the
 *    process's peak memory during the load, then generates a few greedy tokens.
 * 2. stories260K in f32, f16, q8_0, q4_0 and q4_k (quantized on load): device bytes, weight bytes
 *    read per decoded token, decode tokens/s (SwiftShader is a CPU: compare the ratios), and quality
 *    against f32 over the f32 model's own seeded samples: teacher-forced top-1 agreement and mean
 *    KL(p_f32 || p_format), per position.
 * 3. The GGUF fixtures (../shared): top-1 agreement of Folio with llama.cpp's own greedy output
 *    (which quantizes activations inside its matmuls, so it is only a loose reference): llama.cpp's
 *    ids teacher-forced through Folio (the CPU reference, which the GPU reproduces id for id), and
 *    where llama.cpp's free-running greedy ids first leave Folio's (= the exact reference's).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CpuBackend } from '../cpu/CpuBackend.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import { GpuBackend } from '../gpu/GpuBackend.ts';
import { openSource } from '../model/ModelSource.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import { SMOLLM2_135M, parameterCount } from '../model/synthetic.ts';
import type { ModelWeights, PackedTensor } from '../model/weights.ts';
import { FORMATS, quantize, type WeightFormat } from '../quant/index.ts';
import { formatForRow, quantizeModel, targetFormat, WEIGHT_OPTIONS, type WeightsOption } from '../quant/quantizeModel.ts';
import { Rng } from '../sampling/Rng.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt as round } from './stats.ts';

/** Llama-3.2-1B's shape (config.json of meta-llama/Llama-3.2-1B), rope scaling left out: the weights are random. */
export const LLAMA_3_2_1B: ModelConfig = {
  ...SMOLLM2_135M,
  hiddenSize: 2048,
  intermediateSize: 8192,
  numLayers: 16,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  vocabSize: 128256,
  maxPositions: 131072,
  ropeTheta: 500000,
  tieWordEmbeddings: true,
  bosTokenId: 128000,
  eosTokenIds: [128001],
};

/** WebGPU's default limits: what a browser grants when a page asks for nothing more. */
export const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

const GB = 1e9;
const rss = () => process.memoryUsage().rss;

/**
 * Random weights of a config packed in `format` (with llama.cpp's per-row fallback), made row chunk
 * by row chunk: uniform values of std 0.02 from a 32-bit LCG (the distribution does not matter for
 * bytes and speed, and this is ~20x cheaper than Box-Muller at a billion values). `onTensor` sees
 * each finished tensor (the caller samples memory there).
 */
export function syntheticPacked(config: ModelConfig, format: WeightFormat, seed: number, onTensor: () => void): ModelWeights {
  let state = seed >>> 0;
  const fill = (a: Float32Array, mean: number, std: number) => {
    const scale = (std * Math.sqrt(12)) / 4294967296;
    for (let i = 0; i < a.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      a[i] = mean + (state - 2147483648) * scale;
    }
  };
  const tensors = new Map<string, Float32Array>();
  const packed = new Map<string, PackedTensor>();
  for (const [name, shape] of expectedTensors(config)) {
    if (shape.length === 1) {
      const a = new Float32Array(shape[0]);
      fill(a, name.endsWith('norm.weight') ? 1 : 0, name.endsWith('norm.weight') ? 0.05 : 0.02);
      tensors.set(name, a);
    } else {
      const [rows, cols] = shape;
      const f = formatForRow(format, cols);
      const rowBytes = (cols / FORMATS[f].blockElems) * FORMATS[f].blockBytes;
      const bytes = new Uint8Array(rows * rowBytes);
      const chunk = Math.max(1, Math.floor(2 ** 20 / cols));
      const values = new Float32Array(chunk * cols);
      for (let r = 0; r < rows; r += chunk) {
        const n = Math.min(chunk, rows - r);
        const v = values.subarray(0, n * cols);
        fill(v, 0, 0.02);
        bytes.set(quantize(f, v), r * rowBytes);
      }
      packed.set(name, { format: f, bytes, rows, cols });
    }
    onTensor();
  }
  return { config, tensors, packed, fingerprint: `synthetic-${format}-${config.hiddenSize}x${config.numLayers}` };
}

interface OneBResult {
  deviceBytes: number;
  f32Bytes: number;
  weightBuffers: number;
  largestBuffer: number;
  peakRssBytes: number;
  baselineRssBytes: number;
  synthesizeMs: number;
  loadMs: number;
  generated: number[];
  stepMs: number[];
}

async function oneB(ctx: SectionContext): Promise<OneBResult> {
  const baseline = rss();
  let peak = baseline;
  const sample = () => (peak = Math.max(peak, rss()));
  const timer = setInterval(sample, 25);
  try {
    const t0 = performance.now();
    let weights: ModelWeights | null = syntheticPacked(LLAMA_3_2_1B, 'Q4_0', 1, sample);
    const t1 = performance.now();
    ctx.log(`weights: 1B-shaped Q4_0 made in ${Math.round(t1 - t0)} ms; loading with limits clamped to WebGPU's defaults`);
    const backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 1, gpu: dawnGpu(), clampLimits: DEFAULT_LIMITS });
    const t2 = performance.now();
    sample();
    weights = null; // the backend keeps no reference: the host copy may go
    try {
      const prompt = [LLAMA_3_2_1B.bosTokenId!, 791, 6460, 315];
      const blockTable = [0];
      const generated: number[] = [];
      const stepMs: number[] = [];
      let tokens = prompt;
      let pos = 0;
      for (let i = 0; i < (ctx.quick ? 2 : 4); i++) {
        const s = performance.now();
        const [next] = await backend.forwardGreedy({ chunks: [{ tokens, startPos: pos, blockTable }], logits: 'last' });
        stepMs.push(performance.now() - s);
        pos += tokens.length;
        generated.push(next);
        tokens = [next];
      }
      const layout = backend.weightLayout;
      return {
        deviceBytes: backend.weightBytes,
        f32Bytes: 4 * parameterCount(LLAMA_3_2_1B),
        weightBuffers: layout.buffers.length,
        largestBuffer: Math.max(...layout.buffers),
        peakRssBytes: peak,
        baselineRssBytes: baseline,
        synthesizeMs: t1 - t0,
        loadMs: t2 - t1,
        generated,
        stepMs,
      };
    } finally {
      backend.dispose();
    }
  } finally {
    clearInterval(timer);
  }
}

interface FormatRow {
  option: WeightsOption;
  formats: string;
  deviceBytes: number;
  bytesPerToken: number;
  decodeTokPerS: number;
  top1: number;
  meanKl: number;
  positions: number;
}

function weightsFor(w: ModelWeights, option: WeightsOption): ModelWeights {
  const target = targetFormat(option);
  if (!target) return w;
  return { config: w.config, fingerprint: `${w.fingerprint}-${option}`, ...quantizeModel(w.tensors, w.config, target) };
}

function logSoftmax(l: Float32Array, at: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, l[at + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(l[at + i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = l[at + i] - lse;
  return out;
}

const argmax = (l: Float32Array, at: number, n: number): number => {
  let best = 0;
  for (let i = 1; i < n; i++) if (l[at + i] > l[at + best]) best = i;
  return best;
};

/** `count` sequences of `length` tokens sampled from the f32 model at temperature 1, all decoded together. */
async function ownSamples(backend: GpuBackend, bos: number, count: number, length: number, seed: number): Promise<number[][]> {
  const rng = new Rng(seed);
  const vocab = backend.config.vocabSize;
  const perSeq = Math.ceil((length + 1) / backend.blockSize);
  const seqs = Array.from({ length: count }, () => [bos]);
  for (let step = 0; step < length; step++) {
    const chunks = seqs.map((s, i) => ({ tokens: [s[s.length - 1]], startPos: s.length - 1, blockTable: Array.from({ length: perSeq }, (_, b) => i * perSeq + b) }));
    const logits = await backend.forward({ chunks, logits: 'last' });
    logits.forEach((l, i) => {
      const lp = logSoftmax(l, 0, vocab);
      let u = rng.next();
      let pick = vocab - 1;
      for (let t = 0; t < vocab; t++) {
        u -= Math.exp(lp[t]);
        if (u < 0) {
          pick = t;
          break;
        }
      }
      seqs[i].push(pick);
    });
  }
  return seqs;
}

async function formatRows(ctx: SectionContext): Promise<FormatRow[]> {
  const base = ctx.stories.weights;
  const c = base.config;
  const vocab = c.vocabSize;
  const count = ctx.quick ? 2 : 8;
  const length = ctx.quick ? 100 : 250; // count * length positions: 2,000 in a full run
  const blockSize = 16;
  const perSeq = Math.ceil((length + 1) / blockSize);
  const opts = { blockSize, numBlocks: count * perSeq, gpu: dawnGpu() };
  let reference: Float32Array[] = [];
  let samples: number[][] = [];
  const rows: FormatRow[] = [];
  for (const option of WEIGHT_OPTIONS) {
    const weights = weightsFor(base, option);
    const backend = await GpuBackend.create(weights, opts);
    try {
      if (option === 'f32') samples = await ownSamples(backend, c.bosTokenId ?? 1, count, length, 1234);
      const forced: Float32Array[] = [];
      for (const s of samples) {
        const [l] = await backend.forward({ chunks: [{ tokens: s.slice(0, length), startPos: 0, blockTable: Array.from({ length: perSeq }, (_, b) => b) }], logits: 'all' });
        forced.push(l);
      }
      if (option === 'f32') reference = forced;
      let agree = 0;
      let kl = 0;
      let positions = 0;
      forced.forEach((q, i) => {
        const p = reference[i];
        for (let t = 0; t < length; t++) {
          const at = t * vocab;
          if (argmax(p, at, vocab) === argmax(q, at, vocab)) agree++;
          const lp = logSoftmax(p, at, vocab);
          const lq = logSoftmax(q, at, vocab);
          for (let v = 0; v < vocab; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
          positions++;
        }
      });
      // Decode speed: batch 1, greedy, after two warm-up steps (pipelines compile on first use).
      const decode = ctx.quick ? 16 : 64;
      const table = Array.from({ length: perSeq }, (_, b) => b);
      let tok = c.bosTokenId ?? 1;
      let start = 0;
      for (let pos = 0; pos < decode + 2; pos++) {
        if (pos === 2) start = performance.now();
        [tok] = await backend.forwardGreedy({ chunks: [{ tokens: [tok], startPos: pos, blockTable: table }], logits: 'last' });
      }
      const seconds = (performance.now() - start) / 1000;
      const formats = [...new Set([...(weights.packed?.values() ?? [])].map((t) => t.format))].join('+') || 'F32';
      rows.push({ option, formats, deviceBytes: backend.weightBytes, bytesPerToken: backend.weightLayout.bytesPerToken, decodeTokPerS: decode / seconds, top1: agree / positions, meanKl: kl / positions, positions });
      ctx.log(`weights: stories260K ${option} done`);
    } finally {
      backend.dispose();
    }
  }
  return rows;
}

interface LlamaCppRow {
  file: string;
  positions: number;
  top1: number;
  firstDivergence: number | null;
}

export async function llamaCppAgreement(): Promise<LlamaCppRow[] | null> {
  const shared = process.env.FOLIO_SHARED ?? resolve('..', 'shared');
  const refPath = resolve(shared, 'fixtures', 'gguf-reference.json');
  if (!existsSync(refPath)) return null;
  type Run = { prompt_ids: number[]; exact_greedy_ids: number[]; llamacpp_greedy_ids_loose: number[] };
  const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { files: Record<string, { runs: Run[] }> };
  const rows: LlamaCppRow[] = [];
  for (const [file, { runs }] of Object.entries(ref.files)) {
    const { weights } = await loadAnyModel(await openSource(resolve(shared, 'models', 'gguf', file)));
    const vocab = weights.config.vocabSize;
    for (const run of runs) {
      const ids = run.llamacpp_greedy_ids_loose;
      const seq = [...run.prompt_ids, ...ids.slice(0, -1)];
      const numBlocks = Math.ceil(seq.length / 16);
      const cpu = new CpuBackend(weights, { blockSize: 16, numBlocks });
      const [logits] = await cpu.forward({ chunks: [{ tokens: seq, startPos: 0, blockTable: Array.from({ length: numBlocks }, (_, b) => b) }], logits: 'all' });
      cpu.dispose();
      let agree = 0;
      ids.forEach((id, i) => {
        if (argmax(logits, (run.prompt_ids.length - 1 + i) * vocab, vocab) === id) agree++;
      });
      const div = ids.findIndex((id, i) => id !== run.exact_greedy_ids[i]);
      rows.push({ file, positions: ids.length, top1: agree / ids.length, firstDivergence: div < 0 ? null : div });
    }
  }
  return rows;
}

export const weightsSection: BenchSection = {
  name: 'weights',
  needsGpu: true,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const formats = await formatRows(ctx);
    const llamaCpp = await llamaCppAgreement();
    const one = await oneB(ctx);
    const f32 = formats[0];
    const md = [
      '## Weights: formats, bytes and quality',
      '',
      `stories260K quantized on load; quality against f32 over ${f32.positions} positions of the f32 model's own seeded samples (temperature 1, seed 1234), teacher-forced. Decode: batch 1, greedy. SwiftShader is a CPU: compare ratios only.`,
      '',
      '| weights | tensor formats | device bytes | vs f32 | weight bytes read / token | decode tok/s | vs f32 | top-1 agreement | mean KL (nats) |',
      '|---|---|---|---|---|---|---|---|---|',
      ...formats.map(
        (r) =>
          `| ${r.option} | ${r.formats} | ${r.deviceBytes} | ${round(r.deviceBytes / f32.deviceBytes)} | ${r.bytesPerToken} | ${round(r.decodeTokPerS)} | ${round(r.decodeTokPerS / f32.decodeTokPerS)} | ${(100 * r.top1).toFixed(2)}% | ${r.meanKl.toExponential(2)} |`,
      ),
      '',
      `Llama-3.2-1B shape (synthetic weights, Q4_0; limits clamped to WebGPU's defaults, 128 MiB per binding / 256 MiB per buffer): ` +
        `**${(one.deviceBytes / GB).toFixed(3)} GB on the device** (goal ≤ 0.75 GB; f32: ${(one.f32Bytes / GB).toFixed(2)} GB) in ${one.weightBuffers} buffers, the largest ${one.largestBuffer} bytes; ` +
        `peak process memory during the load ${(one.peakRssBytes / GB).toFixed(2)} GB (from ${(one.baselineRssBytes / GB).toFixed(2)} GB before; Node RSS, which on SwiftShader includes the device's buffers). ` +
        `Made in ${Math.round(one.synthesizeMs)} ms, loaded in ${Math.round(one.loadMs)} ms; generated ids ${one.generated.join(', ')} in steps of ${one.stepMs.map((m) => Math.round(m)).join(', ')} ms.`,
      '',
      ...(llamaCpp
        ? [
            "GGUF fixtures: Folio's top-1 agreement with llama.cpp's own greedy ids (teacher-forced through Folio; llama.cpp quantizes activations in its matmuls, a loose reference), and the first position where llama.cpp's free-running greedy output leaves Folio's.",
            '',
            '| file | positions | top-1 agreement | llama.cpp leaves Folio at |',
            '|---|---|---|---|',
            ...llamaCpp.map((r) => `| ${r.file} | ${r.positions} | ${(100 * r.top1).toFixed(1)}% | ${r.firstDivergence ?? 'never'} |`),
            '',
          ]
        : []),
    ].join('\n');
    return { markdown: md, data: { formats, llama1B: one, llamaCpp }, skipped: llamaCpp ? [] : ['GGUF llama.cpp agreement: ../shared/fixtures/gguf-reference.json not found (set FOLIO_SHARED)'] };
  },
};
