/**
 * The speculative decoding section (issue 17): what drafting buys at equal output. For each
 * model (stories260K, and the SmolLM2-135M shape with synthetic weights) and drafter, the same
 * greedy requests run without speculation and with it, one request at a time (the latency case
 * speculation serves), in the same run on the same target backend:
 *
 * - acceptance rate: accepted / drafted tokens (usage.speculative);
 * - tokens per target forward: completion tokens / target forwards (1 without speculation);
 * - decode tokens/s with and without, from each request's first token to its end (prefill and
 *   the first token are the same work either way), and their ratio; plain and speculative
 *   requests alternate prompt by prompt, so that other load on shared cores falls on both alike,
 *   and tokens per CPU-second (this process's CPU time, all threads) say what the work costs;
 * - equal output, asserted: a speculative run whose text differs from the plain one fails the section.
 *
 * Drafters: ngram (prompt lookup on the model's own, repetitive, greedy continuations), and the
 * draft model: the target's own weights in q4_0 (a self-drafter; SmolLM2 also in f16 for the
 * full run) and, for stories260K, the f32 model drafting for itself (every draft accepted: the
 * ceiling, whose cost is the draft forwards alone). On the CPU backend (WebAssembly); on WebGPU
 * too when the adapter is a real GPU (on SwiftShader, WebGPU is a slower CPU).
 *
 * Then the sampled part (speculativeSampled.ts): 20,000 seeded short generations per arm (plain,
 * ngram, a poor drafter, the draft model), chi-square on the first tokens against plain sampling.
 */
import { loadavg } from 'node:os';
import { createCpuBackend } from '../cpu/cpuKernels.ts';
import { Engine } from '../engine/Engine.ts';
import type { EngineEvent } from '../engine/events.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { blocksFor } from '../kv/batch.ts';
import { SMOLLM2_135M } from '../model/synthetic.ts';
import type { ModelWeights } from '../model/weights.ts';
import { quantizeModel } from '../quant/quantizeModel.ts';
import { DraftModelDrafter } from '../speculative/DraftModelDrafter.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { idTokenizer } from './engines.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt, prng } from './stats.ts';
import { syntheticPacked } from './syntheticPacked.ts';
import { sampledFirstTokens } from './speculativeSampled.ts';

const K = 4;
const BS = 16;
/** Seeded generations per arm of the sampled part (issue 17: at least 20,000), --quick too. */
const SAMPLED_DRAWS = 20_000;

type Backend = 'cpu' | 'webgpu';

interface Drafting {
  label: string;
  method: 'ngram' | 'draft';
  /** The draft model's weights (method 'draft'). */
  weights?: () => ModelWeights;
}

interface ModelCase {
  model: string;
  weights: ModelWeights;
  tokenizer: Tokenizer;
  prompts: string[];
  /** Times the prompts run (plain and speculative alternating): stories260K's requests take milliseconds, which other load on shared cores would swamp. */
  rounds: number;
  maxTokens: number;
  draftings: Drafting[];
}

export interface SpeculativeRow {
  model: string;
  backend: string;
  drafter: string;
  k: number;
  requests: number;
  completionTokens: number;
  drafted: number;
  accepted: number;
  targetForwards: number;
  acceptance: number;
  tokensPerForward: number;
  /** Share of the target forwards that verified a draft (the rest: the drafter had no guess). */
  forwardsWithDraft: number;
  /** Drafted tokens per forward that verified a draft. */
  meanDraft: number;
  plainTokensPerSecond: number;
  speculativeTokensPerSecond: number;
  speedup: number;
  plainTokensPerCpuSecond: number;
  speculativeTokensPerCpuSecond: number;
  equalOutput: boolean;
}

interface RunResult {
  texts: string[];
  completionTokens: number;
  decodeTokens: number;
  decodeMs: number;
  decodeCpuMs: number;
  drafted: number;
  accepted: number;
  targetForwards: number;
  /** Steps that verified a draft of this run's requests (Engine's onStep). */
  verifySteps: number;
}

type Usage = Extract<EngineEvent, { type: 'done' }>['usage'];

/** One request to its end: its text, usage, and the wall and CPU time from its first token to its last. */
function runOne(engine: Engine, params: Record<string, unknown>): Promise<{ text: string; usage: Usage; decodeMs: number; decodeCpuMs: number }> {
  return new Promise((resolve, reject) => {
    let first = NaN;
    let cpu0: NodeJS.CpuUsage | null = null;
    let text = '';
    engine
      .generate(params, (events) => {
        for (const ev of events) {
          if (ev.type === 'delta') {
            if (Number.isNaN(first)) {
              first = performance.now();
              cpu0 = process.cpuUsage();
            }
            text += ev.text;
          } else if (ev.type === 'error') reject(ev.error);
          else if (ev.type === 'done') {
            const cpu = process.cpuUsage(cpu0 ?? undefined);
            resolve({ text, usage: ev.usage, decodeMs: performance.now() - first, decodeCpuMs: (cpu.user + cpu.system) / 1000 });
          }
        }
      })
      .catch(reject);
  });
}

const emptyRun = (): RunResult => ({ texts: [], completionTokens: 0, decodeTokens: 0, decodeMs: 0, decodeCpuMs: 0, drafted: 0, accepted: 0, targetForwards: 0, verifySteps: 0 });

/** Counts the engine's steps that verify drafts, for the run that is on (one request at a time). */
const verifyTally = { run: null as RunResult | null };

function countVerify(s: { plan: { chunks: readonly { verify?: number }[] } }): void {
  if (verifyTally.run && s.plan.chunks.some((c) => (c.verify ?? 0) > 0)) verifyTally.run.verifySteps++;
}

async function addRun(r: RunResult, engine: Engine, c: ModelCase, prompt: string, speculative: { method: string; k: number } | null): Promise<void> {
  verifyTally.run = r;
  const { text, usage, decodeMs, decodeCpuMs } = await runOne(engine, { prompt, max_tokens: c.maxTokens, temperature: 0, ...(speculative ? { speculative } : {}) }).finally(() => {
    verifyTally.run = null;
  });
  r.texts.push(text);
  r.completionTokens += usage.completion_tokens;
  r.decodeTokens += usage.completion_tokens - 1;
  r.decodeMs += decodeMs;
  r.decodeCpuMs += decodeCpuMs;
  r.drafted += usage.speculative?.drafted_tokens ?? 0;
  r.accepted += usage.speculative?.accepted_tokens ?? 0;
  r.targetForwards += usage.speculative?.target_forwards ?? 0;
}

async function makeBackend(backend: Backend, weights: ModelWeights, numBlocks: number): Promise<ForwardBackend> {
  if (backend === 'cpu') return (await createCpuBackend(weights, { blockSize: BS, numBlocks })).backend;
  const { GpuBackend } = await import('../gpu/GpuBackend.ts');
  return GpuBackend.create(weights, { blockSize: BS, numBlocks, gpu: dawnGpu() });
}

async function measureCase(c: ModelCase, backend: Backend, log: (m: string) => void): Promise<SpeculativeRow[]> {
  const longest = Math.max(...c.prompts.map((p) => c.tokenizer.encode(p).length + 1));
  const numBlocks = 2 * blocksFor(longest + c.maxTokens + K + 1, BS) + 4;
  const target = await makeBackend(backend, c.weights, numBlocks);
  const engineFor = (extra: Partial<ConstructorParameters<typeof Engine>[2]> = {}) =>
    new Engine(target, c.tokenizer, { modelName: c.model, fingerprint: c.weights.fingerprint, maxBatchTokens: 512, onStep: countVerify, ...extra });
  try {
    const rows: SpeculativeRow[] = [];
    for (const d of c.draftings) {
      const draft = d.weights ? new DraftModelDrafter(await makeBackend(backend, d.weights(), numBlocks)) : null;
      try {
        // One engine for both (a request without `speculative` decodes plainly); warm-up first
        // (kernels compiled, the JIT warm, and the engine's table of what a step of so many rows
        // costs here filled: greedy draft lengths are chosen by it, src/speculative/draftLength.ts),
        // then plain and speculative alternate prompt by prompt.
        const engine = engineFor(draft ? { drafters: { draft, draftModel: d.label } } : {});
        const speculative = { method: d.method, k: K };
        await runOne(engine, { prompt: c.prompts[0], max_tokens: c.maxTokens, temperature: 0 });
        await runOne(engine, { prompt: c.prompts[0], max_tokens: c.maxTokens, temperature: 0, speculative });
        const plain = emptyRun();
        const spec = emptyRun();
        for (let round = 0; round < c.rounds; round++) {
          for (const prompt of c.prompts) {
            await addRun(plain, engine, c, prompt, null);
            await addRun(spec, engine, c, prompt, speculative);
          }
        }
        const plainRate = (plain.decodeTokens * 1000) / plain.decodeMs;
        const rate = (spec.decodeTokens * 1000) / spec.decodeMs;
        const equal = spec.texts.every((t, i) => t === plain.texts[i]);
        rows.push({
          model: c.model,
          backend,
          drafter: d.label,
          k: K,
          requests: c.prompts.length * c.rounds,
          completionTokens: spec.completionTokens,
          drafted: spec.drafted,
          accepted: spec.accepted,
          targetForwards: spec.targetForwards,
          acceptance: spec.accepted / spec.drafted,
          tokensPerForward: spec.completionTokens / spec.targetForwards,
          forwardsWithDraft: spec.verifySteps / spec.targetForwards,
          meanDraft: spec.drafted / spec.verifySteps,
          plainTokensPerSecond: plainRate,
          speculativeTokensPerSecond: rate,
          speedup: rate / plainRate,
          plainTokensPerCpuSecond: (plain.decodeTokens * 1000) / plain.decodeCpuMs,
          speculativeTokensPerCpuSecond: (spec.decodeTokens * 1000) / spec.decodeCpuMs,
          equalOutput: equal,
        });
        log(`speculative: ${c.model} on ${backend}, ${d.label}: acceptance ${fmt(spec.accepted / spec.drafted)}, ${fmt(spec.completionTokens / spec.targetForwards)} tokens/forward, ${fmt(rate)} against ${fmt(plainRate)} tokens/s plain (${fmt(rate / plainRate)}x)${equal ? '' : ', OUTPUT DIFFERS'}`);
      } finally {
        draft?.dispose();
      }
    }
    return rows;
  } finally {
    target.dispose();
  }
}

const STORY_PROMPTS = ['Once upon a time, there was a little girl named Lily.', 'Tom and his dog went to the park.', 'One day, a big red ball', 'The sun was shining and the birds'];

function cases(ctx: SectionContext): ModelCase[] {
  const stories = ctx.stories.weights;
  const storiesQ4: ModelWeights = { ...stories, ...quantizeModel(stories.tensors, stories.config, 'Q4_0'), fingerprint: `${stories.fingerprint}-q4_0` };
  const out: ModelCase[] = [
    {
      model: 'stories260K',
      weights: stories,
      tokenizer: ctx.stories.tokenizer,
      prompts: STORY_PROMPTS.slice(0, ctx.quick ? 2 : 4),
      rounds: ctx.quick ? 3 : 5,
      maxTokens: ctx.quick ? 64 : 192,
      draftings: [
        { label: 'ngram', method: 'ngram' },
        { label: 'draft: stories260K q4_0 (self)', method: 'draft', weights: () => storiesQ4 },
        { label: 'draft: stories260K f32 (itself: the ceiling)', method: 'draft', weights: () => stories },
      ],
    },
  ];
  if (ctx.smollm) {
    const rand = prng(3);
    const vocab = SMOLLM2_135M.vocabSize;
    const prompts = Array.from({ length: ctx.quick ? 2 : 3 }, () => Array.from({ length: 12 }, () => Math.floor(rand() * vocab)).join(' '));
    const draftings: Drafting[] = [
      { label: 'ngram', method: 'ngram' },
      { label: 'draft: q4_0 (self)', method: 'draft', weights: () => syntheticPacked(SMOLLM2_135M, 'Q4_0', 7, () => {}) },
    ];
    if (!ctx.quick) draftings.push({ label: 'draft: f16 (self)', method: 'draft', weights: () => syntheticPacked(SMOLLM2_135M, 'F16', 7, () => {}) });
    out.push({ model: 'SmolLM2-135M shape', weights: syntheticPacked(SMOLLM2_135M, 'F32', 7, () => {}), tokenizer: idTokenizer(), prompts, rounds: 1, maxTokens: ctx.quick ? 24 : 64, draftings });
  }
  return out;
}

export const speculativeSection: BenchSection = {
  name: 'speculative',
  needsGpu: false,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const backends: Backend[] = ['cpu'];
    const skipped: string[] = [];
    if (ctx.adapter && !ctx.adapter.swiftShader && !ctx.adapter.fallback) backends.push('webgpu');
    else skipped.push(`speculative on WebGPU: ${ctx.adapter ? 'the adapter is a CPU (SwiftShader), slower than the CPU backend' : 'no adapter'}`);
    if (!ctx.smollm) skipped.push('speculative: SmolLM2-135M shape (--no-smollm)');
    const rows: SpeculativeRow[] = [];
    for (const c of cases(ctx)) for (const b of backends) rows.push(...(await measureCase(c, b, ctx.log)));
    const differs = rows.filter((r) => !r.equalOutput);
    if (differs.length > 0) throw new Error(`speculative decoding changed the greedy output: ${differs.map((r) => `${r.model} ${r.backend} ${r.drafter}`).join('; ')}`);
    const stories = ctx.stories.weights;
    const sampled = await sampledFirstTokens(ctx.stories, { ...stories, ...quantizeModel(stories.tensors, stories.config, 'Q4_0'), fingerprint: `${stories.fingerprint}-q4_0` }, SAMPLED_DRAWS, ctx.log);
    const verdict = (r: (typeof sampled)[number]) => {
      if (r.pPair === null) return 'reference';
      const equal = r.pPair > 0.01 && r.pTriple! > 0.01;
      return r.control ? (equal ? 'NOT told apart' : 'told apart, as it must') : equal ? 'same distribution' : 'DIFFERS';
    };
    const pCell = (p: number | null) => (p === null ? '—' : p < 0.001 ? p.toExponential(1) : fmt(p, 3));
    const lines = [
      '## Speculative decoding: tokens per target forward at equal output',
      '',
      `Greedy requests one at a time, each prompt run without and then with speculation (k = ${K} at most; each step's draft length the one with the most expected tokens per millisecond, by the sequence's acceptance and the engine's measured step costs, src/speculative/draftLength.ts) on the same engine, alternating, after one warm-up of each; output equal in every row (asserted). Acceptance: accepted / drafted tokens; tokens per forward: completion tokens / target forwards; forwards with a draft: the share that verified drafts (in the others the drafter had no guess); mean draft: drafted tokens per such forward; decode tokens/s from each request's first token to its last, wall clock and per CPU-second of this process (all threads; steadier when other processes share the cores). Machine load average ${loadavg().map((l) => fmt(l, 2)).join(' / ')} at the end. SmolLM2-135M shape: synthetic weights (seed 7), random-id prompts; its self-drafters are the same weights quantized.`,
      '',
      '| model | backend | drafter | requests x tokens | acceptance | tokens / target forward | forwards with a draft | mean draft | plain tok/s | speculative tok/s | speedup | per CPU-s: plain | speculative | speedup |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.model} | ${r.backend} | ${r.drafter} | ${r.requests} x ${r.completionTokens / r.requests} | ${fmt(r.acceptance)} | ${fmt(r.tokensPerForward)} | ${fmt(r.forwardsWithDraft)} | ${fmt(r.meanDraft)} | ${fmt(r.plainTokensPerSecond)} | ${fmt(r.speculativeTokensPerSecond)} | ${fmt(r.speedup)}x | ${fmt(r.plainTokensPerCpuSecond)} | ${fmt(r.speculativeTokensPerCpuSecond)} | ${fmt(r.speculativeTokensPerCpuSecond / r.plainTokensPerCpuSecond)}x |`),
      '',
      `### Sampled: the output distribution is the target's (${SAMPLED_DRAWS.toLocaleString('en')} seeded generations per arm)`,
      '',
      'stories260K on the CPU backend, max_tokens 3, temperature 1, top_k 4, k = 1 (the second token is the drafted one), seeds disjoint between arms. p: chi-square test of homogeneity against the plain arm, on the first two tokens and on all three; speculation passes at p > 0.01. The control (plain sampling at temperature 0.9) must fail it: the test can tell a small change apart.',
      '',
      '| arm | drafted | accepted | p (first two) | p (all three) | verdict | seconds |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...sampled.map((r) => `| ${r.arm} | ${r.drafted} | ${r.accepted} | ${pCell(r.pPair)} | ${pCell(r.pTriple)} | ${verdict(r)} | ${fmt(r.seconds)} |`),
      '',
    ];
    return { markdown: lines.join('\n'), data: { k: K, rows, sampled }, skipped };
  },
};
