/**
 * Structured output's costs (issue 16): the host's per-step mask (the grammar state's allowed
 * tokens, src/grammar/TokenMasker.ts) for stories260K's vocabulary and a synthetic 49,152-token
 * one (SmolLM2's size), the device's (wgsl/logit_adjust.wgsl before sampling) measured as the
 * difference between masked and plain decode steps, each against the decode step; and the
 * full acceptance run: 200 seeded samples per schema (and of the arithmetic GBNF) at temperature 1
 * on cpu and webgpu, validated with Ajv.
 */
import Ajv from 'ajv';
import { FolioEngine } from '../api/FolioEngine.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { loadEngine } from '../engine/loadEngine.ts';
import { maskerFor, newConstraint } from '../grammar/Constraint.ts';
import { ARITHMETIC_GBNF, EXAMPLE_SCHEMAS } from '../grammar/exampleSchemas.ts';
import { KEY_DEPTH } from '../grammar/TokenMasker.ts';
import { parseGbnf } from '../grammar/gbnf.ts';
import type { Grammar } from '../grammar/Grammar.ts';
import { schemaToGbnf } from '../grammar/jsonSchema.ts';
import { type TokenVocabulary, vocabularyOf } from '../grammar/tokenBytes.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { GpuBackend } from '../gpu/GpuBackend.ts';
import { dawnDevice } from '../gpu/dawn.ts';
import { grid64 } from '../gpu/grid.ts';
import { logitAdjustPipeline, packAdjustWork } from '../gpu/logitAdjust.ts';
import { FolderSource } from '../model/FolderSource.ts';
import type { ModelWeights } from '../model/weights.ts';
import { SMOLLM2_135M, syntheticWeights } from '../model/synthetic.ts';
import { allowed, rowMask } from '../sampling/logitAdjustments.ts';
import { DEFAULT_MODEL_DIR } from './engines.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt, mean, median, prng } from './stats.ts';
import { syntheticVocabulary } from './syntheticVocabulary.ts';

const SYNTHETIC_VOCAB = 49152;

interface HostRow {
  vocab: string;
  schema: string;
  /** XGrammar-style preparation: every stack top's split of the vocabulary, once per grammar and vocabulary. */
  prepareMs: number;
  keys: number;
  steps: number;
  /** ms per step with the grammar prepared: mask + advance. */
  meanMs: number;
  p95Ms: number;
  maxMs: number;
  /** Dependent tokens checked against the whole state, per step. */
  dependentPerStep: number;
  /** Splits made during the steps (a stack top the preparation did not foresee). */
  lateSplits: number;
  /** The same walk unprepared: splits made as stack tops are met (what the engine does). */
  lazyMeanMs: number;
  lazyP95Ms: number;
}

/** Per step of a seeded random walk through a grammar (allowed tokens picked at random): mask and advance times. */
function walk(grammar: Grammar, vocab: TokenVocabulary, steps: number): number[] {
  const rand = prng(17);
  const c = newConstraint(grammar, vocab);
  const times: number[] = [];
  for (let i = 0; i < steps && !c.finished; i++) {
    const t0 = performance.now();
    const mask = c.mask();
    const t1 = performance.now();
    const ok: number[] = [];
    for (let id = 0; id < vocab.bytes.length; id++) if (vocab.bytes[id] && allowed(mask, id)) ok.push(id);
    if (ok.length === 0) break; // only EOS left
    const pick = ok[Math.floor(rand() ** 0.5 * ok.length)];
    const t2 = performance.now();
    c.accept(pick);
    times.push(t1 - t0 + performance.now() - t2);
  }
  return times;
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(0.95 * (xs.length - 1))];

/** Each schema's grammar walked `steps` tokens: prepared ahead (a fresh grammar object each time, so nothing is shared), and lazily. */
function hostCosts(name: string, vocab: TokenVocabulary, gbnfs: [string, string][], steps: number): HostRow[] {
  return gbnfs.map(([schema, gbnf]) => {
    const lazy = walk(parseGbnf(gbnf), vocab, steps);
    const grammar = parseGbnf(gbnf);
    const masker = maskerFor(grammar, vocab.trie);
    const t0 = performance.now();
    const keys = masker.prepare();
    const prepareMs = performance.now() - t0;
    const splitsBefore = masker.splitWalks;
    const checksBefore = masker.dependentChecks;
    const times = walk(grammar, vocab, steps);
    return {
      vocab: name, schema, prepareMs, keys, steps: times.length, meanMs: mean(times), p95Ms: p95(times), maxMs: Math.max(...times),
      dependentPerStep: (masker.dependentChecks - checksBefore) / Math.max(1, times.length), lateSplits: masker.splitWalks - splitsBefore,
      lazyMeanMs: mean(lazy), lazyP95Ms: p95(lazy),
    };
  });
}

interface DeviceRow {
  model: string;
  vocab: number;
  plainMs: number;
  maskedMs: number;
  /** masked - plain, over plain. */
  share: number;
  /** wgsl/logit_adjust.wgsl alone on one row (upload, dispatch, wait), the part of `maskedMs` it adds. */
  kernelMs: number;
}

/** Median time of the adjust kernel alone over one [1, vocab] row: upload of work and mask, one dispatch, completion. */
async function kernelAlone(vocab: number, repeats: number): Promise<number> {
  const device = await dawnDevice();
  try {
    const pipeline = logitAdjustPipeline(device, vocab);
    const grammar = new Uint32Array(Math.ceil(vocab / 32)).fill(0x55555555);
    const adjustments = { tokens: Uint32Array.from({ length: 40 }, (_, i) => i * 2), sub: new Float32Array(40).fill(0.5), add: new Float32Array(40).fill(0.25), banned: [] };
    const w = packAdjustWork([{ temperature: 1, topK: 0, topP: 1, u: 0.5, adjustments, mask: rowMask(vocab, grammar, []) }], vocab)!;
    const buf = (bytes: number) => device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const logits = buf(vocab * 4);
    const work = buf(w.work.byteLength);
    const masks = buf(w.masks.byteLength);
    const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [logits, work, masks].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const times: number[] = [];
    for (let i = 0; i < repeats + 2; i++) {
      const t0 = performance.now();
      device.queue.writeBuffer(work, 0, w.work);
      device.queue.writeBuffer(masks, 0, w.masks);
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...grid64(w.invocations, 65535));
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (i >= 2) times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    device.destroy();
  }
}

/** Median decode-step time of one row, with and without a token mask (half the vocabulary allowed) and 40 adjustments. */
async function deviceCosts(model: string, weights: ModelWeights, repeats: number): Promise<DeviceRow> {
  const backend: ForwardBackend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 8, gpu: dawnGpu() });
  try {
    const vocab = weights.config.vocabSize;
    const grammar = new Uint32Array(Math.ceil(vocab / 32)).fill(0x55555555);
    const adjustments = { tokens: Uint32Array.from({ length: 40 }, (_, i) => i * 2), sub: new Float32Array(40).fill(0.5), add: new Float32Array(40).fill(0.25), banned: [] };
    const plainRow = { temperature: 1, topK: 0, topP: 1, u: 0.5 };
    const step = async (pos: number, masked: boolean) => {
      const row = masked ? { ...plainRow, adjustments, mask: rowMask(vocab, grammar, []) } : plainRow;
      const t0 = performance.now();
      await backend.forwardSample!({ chunks: [{ tokens: [3], startPos: pos, blockTable: [0, 1, 2, 3, 4, 5, 6, 7] }], logits: 'last' }, [row]);
      return performance.now() - t0;
    };
    await step(0, false);
    await step(1, true); // compiles the adjust pipeline
    const plain: number[] = [];
    const masked: number[] = [];
    for (let i = 0; i < repeats; i++) {
      plain.push(await step(2 + 2 * i, false));
      masked.push(await step(3 + 2 * i, true));
    }
    const p = median(plain);
    const m = median(masked);
    return { model, vocab, plainMs: p, maskedMs: m, share: (m - p) / p, kernelMs: await kernelAlone(vocab, Math.max(10, repeats)) };
  } finally {
    backend.dispose();
  }
}

interface AcceptanceRow {
  backend: 'cpu' | 'webgpu';
  grammar: string;
  samples: number;
  valid: number;
  truncated: number;
  meanTokens: number;
}

/** What a sample must be: JSON valid under a schema (Ajv), or an arithmetic expression that evaluates. */
type Check = (text: string) => boolean;

/**
 * `count` seeded samples per grammar at temperature 1 on one engine (`batch` requests at once,
 * so the device batches them), each checked: the six schemas (chat, response_format) and the
 * arithmetic GBNF (text completions, grammar).
 */
async function acceptance(backend: 'cpu' | 'webgpu', count: number, batch: number, log: (m: string) => void): Promise<AcceptanceRow[]> {
  const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL_DIR), backend, gpu: backend === 'webgpu' ? dawnGpu() : undefined });
  const api = new FolioEngine(engine);
  const ajv = new Ajv({ strict: false });
  const jobs: [string, Check, (seed: number) => Promise<{ text: string; finish: string; tokens: number }>][] = Object.entries(EXAMPLE_SCHEMAS).map(([name, schema]) => {
    const validate = ajv.compile(schema);
    return [name, (t: string) => { try { return validate(JSON.parse(t)) === true; } catch { return false; } }, async (seed: number) => {
      const r = await api.chat.completions.create({ messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 1, seed, max_tokens: 300, response_format: { type: 'json_schema', json_schema: { name, schema } } });
      return { text: r.choices[0].message.content ?? '', finish: r.choices[0].finish_reason, tokens: r.usage.completion_tokens };
    }];
  });
  jobs.push(['GBNF arithmetic', (t) => /^[0-9+\-*/()]+$/.test(t) && !Number.isNaN(Number(Function(`return (${t})`)())), async (seed) => {
    const r = await api.completions.create({ prompt: 'Lily', temperature: 1, seed, max_tokens: 300, grammar: ARITHMETIC_GBNF });
    return { text: r.choices[0].text, finish: r.choices[0].finish_reason, tokens: r.usage.completion_tokens };
  }]);
  const rows: AcceptanceRow[] = [];
  try {
    for (const [name, check, run] of jobs) {
      let valid = 0;
      let truncated = 0;
      let tokens = 0;
      for (let start = 0; start < count; start += batch) {
        const out = await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, i) => run(start + i)));
        for (const r of out) {
          tokens += r.tokens;
          if (r.finish === 'length') truncated++;
          if (r.finish === 'stop' && check(r.text)) valid++;
        }
      }
      log(`grammar acceptance (${backend}): ${name}: ${valid}/${count} valid`);
      rows.push({ backend, grammar: name, samples: count, valid, truncated, meanTokens: tokens / count });
    }
  } finally {
    engine.backend.dispose();
  }
  return rows;
}

export const grammarMaskSection: BenchSection = {
  name: 'grammarmask',
  needsGpu: false,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const skipped: string[] = [];
    const gbnfs: [string, string][] = Object.entries(EXAMPLE_SCHEMAS).map(([k, s]) => [k, schemaToGbnf(s)]);
    gbnfs.push(['GBNF arithmetic', ARITHMETIC_GBNF]);
    ctx.log('grammar mask: host, stories260K vocabulary');
    const t0 = performance.now();
    const storiesVocab = vocabularyOf(ctx.stories.tokenizer);
    const storiesBuild = performance.now() - t0;
    const t1 = performance.now();
    const synthetic = syntheticVocabulary(SYNTHETIC_VOCAB);
    const syntheticBuild = performance.now() - t1;
    const steps = ctx.quick ? 24 : 64;
    const host = [...hostCosts('stories260K (512)', storiesVocab, gbnfs, steps)];
    ctx.log('grammar mask: host, synthetic 49,152-token vocabulary');
    host.push(...hostCosts(`synthetic (${SYNTHETIC_VOCAB})`, synthetic, gbnfs, steps));
    const device: DeviceRow[] = [];
    if (ctx.adapter) {
      ctx.log('grammar mask: device, stories260K');
      device.push(await deviceCosts('stories260K', ctx.stories.weights, ctx.quick ? 5 : 15));
      if (ctx.smollm) {
        ctx.log('grammar mask: device, SmolLM2-135M shape (random weights)');
        device.push(await deviceCosts('SmolLM2-135M shape', syntheticWeights(SMOLLM2_135M, prng(1)), ctx.quick ? 2 : 5));
      } else skipped.push('grammarmask: SmolLM2-shaped device cost: --no-smollm');
    } else skipped.push('grammarmask: device cost: no WebGPU adapter');
    const count = ctx.quick ? 20 : 200;
    ctx.log(`grammar acceptance: ${count} samples per grammar, cpu`);
    const accept = await acceptance('cpu', count, 25, ctx.log);
    if (ctx.adapter) {
      ctx.log(`grammar acceptance: ${count} samples per grammar, webgpu`);
      accept.push(...(await acceptance('webgpu', count, 50, ctx.log)));
    } else skipped.push('grammarmask: webgpu acceptance: no WebGPU adapter');
    const stepOf = (vocab: number) => device.find((d) => d.vocab === vocab);
    const share = (ms: number, vocab: number) => {
      const d = stepOf(vocab);
      return d ? `${fmt((100 * ms) / d.plainMs, 3)}%` : '-';
    };
    const vocabOf = (h: HostRow) => (h.vocab.startsWith('synthetic') ? SYNTHETIC_VOCAB : 512);
    const lines = [
      '## Structured output: the grammar mask per step, and grammar acceptance',
      '',
      `Host: per decode step, the allowed-token mask of one constrained sequence (src/grammar/TokenMasker.ts: XGrammar's adaptive mask, each stack's top ${KEY_DEPTH} frames splitting the vocabulary into accepted, rejected and dependent tokens; only dependent ones are checked against the whole state; masks cached by state) plus the matcher's advance by the sampled token, over up to ${steps} steps of a seeded random walk through each grammar. "Prepared": every split made ahead (once per grammar and vocabulary, like XGrammar's compile step; the prepare column); "lazy": splits made as stack tops are first met (what the engine does). Vocabulary preparation (once per tokenizer): stories260K ${fmt(storiesBuild)} ms (a decode per token), synthetic ${fmt(syntheticBuild)} ms. The share columns divide the mean by the plain decode step below (the SmolLM2 shape for the 49,152-token vocabulary).`,
      '',
      '| vocabulary | grammar | prepare ms (stack tops) | steps | mean ms/step | p95 ms | max ms | dependent tokens/step | late splits | share of step | lazy mean ms | lazy p95 ms | lazy share |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...host.map((h) => `| ${h.vocab} | ${h.schema} | ${fmt(h.prepareMs)} (${h.keys}) | ${h.steps} | ${fmt(h.meanMs, 3)} | ${fmt(h.p95Ms, 3)} | ${fmt(h.maxMs, 3)} | ${fmt(h.dependentPerStep, 3)} | ${h.lateSplits} | ${share(h.meanMs, vocabOf(h))} | ${fmt(h.lazyMeanMs, 3)} | ${fmt(h.lazyP95Ms, 3)} | ${share(h.lazyMeanMs, vocabOf(h))} |`),
      '',
      `Device: median decode step of one sequence with forwardSample, plain and with a token mask (half the vocabulary) and 40 penalty/bias adjustments (wgsl/logit_adjust.wgsl, then wgsl/sample.wgsl); both read back one id. ${ctx.adapter ? `Adapter: ${ctx.adapter.name}.` : ''}`,
      '',
      'The difference of two noisy step medians is shown as is; the adjust kernel is also timed alone (upload of the work list and mask, one dispatch, completion), against the plain step.',
      '',
      '| model | vocab | plain step ms | masked step ms | difference, share of the step | adjust kernel alone ms | its share of the step |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...device.map((d) => `| ${d.model} | ${d.vocab} | ${fmt(d.plainMs)} | ${fmt(d.maskedMs)} | ${fmt(100 * d.share, 3)}% | ${fmt(d.kernelMs)} | ${fmt((100 * d.kernelMs) / d.plainMs, 3)}% |`),
      '',
      `Acceptance: ${count} seeded samples per grammar (src/grammar/exampleSchemas.ts) at temperature 1 from stories260K, max_tokens 300, many requests at once (25 on cpu, 50 on webgpu); valid = finished with stop and parsed and validated with Ajv (schemas), or matched and evaluated (arithmetic).`,
      '',
      '| backend | grammar | samples | valid | stopped by max_tokens | mean tokens |',
      '| --- | --- | --- | --- | --- | --- |',
      ...accept.map((a) => `| ${a.backend} | ${a.grammar} | ${a.samples} | ${a.valid} | ${a.truncated} | ${fmt(a.meanTokens, 3)} |`),
      '',
    ];
    return { markdown: lines.join('\n'), data: { host, device, accept, storiesBuild, syntheticBuild }, skipped };
  },
};
