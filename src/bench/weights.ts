/**
 * The weights section (issue 11): what each weight format costs and what it loses.
 *
 * 1. A Llama-3.2-1B-shaped model (synthetic weights, made and quantized to Q4_0 tensor by tensor,
 *    row chunk by row chunk, so that its f32 form never exists whole) loads on Dawn with the
 *    backend's limits clamped to WebGPU's defaults (128 MiB per binding, 256 MiB per buffer): the
 *    147 MB Q4_0 embedding must be split. Reports its device bytes against the f32 model's and the
 *    process's peak memory during the load, then generates a few greedy tokens. With --chromium
 *    (`npm run bench -- --only weights --chromium`), the same model is also made, loaded and run
 *    in a worker of headless Chromium (weightsChromium.ts), with its processes' peak memory.
 * 2. stories260K in f32, f16, q8_0, q4_0 and q4_k (quantized on load): device bytes, weight bytes
 *    read per decoded token, decode tokens/s (median of repetitions; SwiftShader is a CPU: compare
 *    the ratios), and quality against f32 over the f32 model's own seeded samples: teacher-forced
 *    top-1 agreement and mean KL(p_f32 || p_format), per position.
 * 3. The GGUF fixtures against their references: the gguf-reference section (ggufReference.ts).
 */
import { GpuBackend } from '../gpu/GpuBackend.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { parameterCount } from '../model/synthetic.ts';
import type { ModelWeights } from '../model/weights.ts';
import { quantizeModel, targetFormat, WEIGHT_OPTIONS, type WeightsOption } from '../quant/quantizeModel.ts';
import { Rng } from '../sampling/Rng.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt as round, median } from './stats.ts';
import { chromiumOneB, type ChromiumOneBResult } from './weightsChromium.ts';

import { DEFAULT_LIMITS, LLAMA_3_2_1B, syntheticPacked } from './syntheticPacked.ts';

export { DEFAULT_LIMITS, LLAMA_3_2_1B, syntheticPacked };

const GB = 1e9;
const rss = () => process.memoryUsage().rss;

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
  /** Median over the repetitions. */
  decodeTokPerS: number;
  decodeRuns: number[];
  kernels: string;
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
  const backends: GpuBackend[] = [];
  try {
    for (const option of WEIGHT_OPTIONS) {
      const weights = weightsFor(base, option);
      const backend = await GpuBackend.create(weights, opts);
      backends.push(backend);
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
      const formats = [...new Set([...(weights.packed?.values() ?? [])].map((t) => t.format))].join('+') || 'F32';
      rows.push({ option, formats, deviceBytes: backend.weightBytes, bytesPerToken: backend.weightLayout.bytesPerToken, decodeTokPerS: 0, decodeRuns: [], kernels: backend.kernelsDescription, top1: agree / positions, meanKl: kl / positions, positions });
      ctx.log(`weights: stories260K ${option} quality done`);
    }
    // Decode speed: batch 1, greedy, after two warm-up steps (pipelines compile on first use), each
    // repetition from position 0 over the same tokens. The formats take turns within each
    // repetition, so that a load that drifts (other processes on the same cores) reaches all of
    // them alike; the median of the repetitions is reported.
    const decode = ctx.quick ? 16 : 64;
    const table = Array.from({ length: perSeq }, (_, b) => b);
    for (let rep = 0; rep < (ctx.quick ? 5 : 7); rep++) {
      for (const [i, backend] of backends.entries()) {
        let tok = c.bosTokenId ?? 1;
        let start = 0;
        for (let pos = 0; pos < decode + 2; pos++) {
          if (pos === 2) start = performance.now();
          [tok] = await backend.forwardGreedy({ chunks: [{ tokens: [tok], startPos: pos, blockTable: table }], logits: 'last' });
        }
        rows[i].decodeRuns.push(decode / ((performance.now() - start) / 1000));
      }
    }
    for (const r of rows) r.decodeTokPerS = median(r.decodeRuns);
  } finally {
    for (const b of backends) b.dispose();
  }
  return rows;
}

async function chromiumPart(ctx: SectionContext): Promise<ChromiumOneBResult | { error: string }> {
  try {
    return await chromiumOneB(ctx.quick ? 2 : 4, ctx.log);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function chromiumMarkdown(r: ChromiumOneBResult | { error: string }): string {
  if ('error' in r) return `Llama-3.2-1B shape in Chromium: failed: ${r.error}`;
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const phase = (p: keyof ChromiumOneBResult['peakRss']) => `renderer ${mb(r.peakRss[p].renderer)}, GPU process ${mb(r.peakRss[p].gpu)}`;
  return (
    `Llama-3.2-1B shape in headless Chromium (a dedicated worker, navigator.gpu on SwiftShader, ${r.kernels}, limits clamped to WebGPU's defaults): ` +
    `**${(r.deviceBytes / GB).toFixed(3)} GB on the device** in ${r.weightBuffers} buffers, the largest ${r.largestBuffer} bytes. ` +
    `Peak resident memory (Linux RSS of Chromium's processes, sampled every 100 ms; the worker lives in the renderer, SwiftShader's buffers in the GPU process): ` +
    `before ${phase('before')}; making the Q4_0 weights in the worker ${phase('synthesize')}; loading them onto the device ${phase('load')}; generating ${phase('generate')}. ` +
    `Made in ${Math.round(r.synthesizeMs)} ms, loaded in ${Math.round(r.loadMs)} ms; generated ids ${r.generated.join(', ')} in steps of ${r.stepMs.map((m) => Math.round(m)).join(', ')} ms; ${Math.round(r.wallMs / 1000)} s in all.`
  );
}

export const weightsSection: BenchSection = {
  name: 'weights',
  needsGpu: true,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const formats = await formatRows(ctx);
    const one = await oneB(ctx);
    const chromium = process.argv.includes('--chromium') ? await chromiumPart(ctx) : null;
    const f32 = formats[0];
    const md = [
      '## Weights: formats, bytes and quality',
      '',
      `stories260K quantized on load; quality against f32 over ${f32.positions} positions of the f32 model's own seeded samples (temperature 1, seed 1234), teacher-forced. Decode: batch 1, greedy, ${ctx.quick ? 16 : 64} tokens after 2 warm-up steps, median of ${ctx.quick ? 5 : 7} repetitions, the formats taking turns within each (${formats[0].kernels}). SwiftShader is a CPU: compare ratios only.`,
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
      ...(chromium ? [chromiumMarkdown(chromium), ''] : []),
    ].join('\n');
    const skipped = chromium === null ? ['weights: the 1B-shaped model in Chromium (pass --chromium)'] : 'error' in chromium ? [`weights --chromium: ${chromium.error}`] : [];
    return { markdown: md, data: { formats, llama1B: one, chromium }, skipped };
  },
};
