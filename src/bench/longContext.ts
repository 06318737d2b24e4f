/**
 * The long-context section (issue 14): what a KV budget costs in quality. Teacher-forced
 * negative log-likelihood of the last 128 tokens of 512-token texts (stories260K's own samples
 * at temperature 1, one fixed seed per text, EOS banned so every text is 512 tokens), computed
 * with the whole cache, and under budgets of 128 and 256 tokens with paged-eviction (lowest
 * ||V||/||K|| block), window (StreamingLLM: sink + recent blocks) and random block eviction
 * (same candidates, uniform). Prompts of 384 tokens are prefilled under the budget (evicted
 * chunk by chunk), then the 128 scored tokens are fed one per step, as decoding would.
 *
 * Runs on the CPU backend (WebAssembly kernels where they load) through the scheduler, all
 * texts batched; the eviction decisions are the engine's (makeRoom), scores computed from the
 * blocks as the device would (the CPU's definition). Memory held: the most KV tokens one
 * sequence held at any step (whole blocks).
 */
import { createCpuBackend } from '../cpu/cpuKernels.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { applyKvMoves, scoreFilledBlocks } from '../engine/kvMoves.ts';
import { type EvictionPolicy, type KvLimit, NO_LIMIT } from '../kv/eviction/KvLimit.ts';
import type { ModelWeights } from '../model/weights.ts';
import { Rng } from '../sampling/Rng.ts';
import { logSoftmax, sample } from '../sampling/sample.ts';
import { samplingParams } from '../sampling/SamplingParams.ts';
import { NO_RESERVE } from '../scheduler/reserve.ts';
import { Scheduler } from '../scheduler/Scheduler.ts';
import { forwardBatchOf } from '../scheduler/StepPlan.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt, mean } from './stats.ts';

const BS = 16;
const TEXT = 512;
const SCORED = 128;
const BUDGETS = [128, 256];
const POLICIES: EvictionPolicy[] = ['paged-eviction', 'window', 'random'];
const EOS = 2;

export interface LongContextRow {
  budget: number | null;
  policy: EvictionPolicy;
  /** Mean NLL per scored token (nats), over all texts. */
  nll: number;
  /** The most KV tokens one sequence held at any step. */
  peakTokensHeld: number;
  evictedTokensPerText: number;
}

/** Steps the scheduler until every sequence finished; `choose` gives each sampled chunk its next token from its logits. */
async function drive(backend: ForwardBackend, scheduler: Scheduler<number>, choose: (seqId: string, logits: Float32Array) => number, onStep?: () => void): Promise<void> {
  while (scheduler.hasWork) {
    const plan = scheduler.schedule();
    if (plan.chunks.length === 0) throw new Error('the bench pool cannot hold the texts');
    await applyKvMoves(backend, plan);
    const logits = await backend.forward(forwardBatchOf(plan));
    await scoreFilledBlocks(backend, scheduler);
    onStep?.();
    scheduler.appendTokens(plan.chunks.flatMap((c, i) => (c.sample ? [{ seqId: c.seqId, token: choose(c.seqId, logits[i]) }] : [])));
  }
}

function newScheduler(backend: ForwardBackend): Scheduler<number> {
  return new Scheduler<number>({ numBlocks: backend.numBlocks, blockSize: BS, modelFingerprint: 'bench', maxBatchTokens: 4096, maxNumSeqs: 256, maxModelLen: backend.config.maxPositions, reserve: NO_RESERVE });
}

/** `count` texts of TEXT tokens: BOS, then the model's own samples at temperature 1 (seed = index), EOS banned. */
async function sampleTexts(backend: ForwardBackend, count: number, bos: number): Promise<number[][]> {
  const scheduler = newScheduler(backend);
  const params = samplingParams({ temperature: 1 });
  const rngs = new Map<string, Rng>();
  const texts = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const id = `t${i}`;
    rngs.set(id, new Rng(1000 + i));
    texts.set(id, [bos]);
    scheduler.add({ id, prompt: [bos], maxTokens: TEXT - 1, params: i });
  }
  await drive(backend, scheduler, (seqId, logits) => {
    const row = logits.slice();
    row[EOS] = -Infinity;
    const t = sample(row, params, rngs.get(seqId)!);
    texts.get(seqId)!.push(t);
    return t;
  });
  return [...texts.values()];
}

/** Mean NLL of each text's last SCORED tokens under `limit`, and the memory it held. */
async function scoreTexts(backend: ForwardBackend, texts: number[][], limit: KvLimit): Promise<{ nll: number; peak: number; evicted: number }> {
  const scheduler = newScheduler(backend);
  const nll: number[] = [];
  texts.forEach((t, i) => scheduler.add({ id: `t${i}`, prompt: t.slice(0, TEXT - SCORED), maxTokens: SCORED, params: i, kv: limit }));
  const seqs = texts.map((_, i) => scheduler.get(`t${i}`)!);
  let peak = 0;
  let evicted = 0;
  await drive(
    backend,
    scheduler,
    (seqId, logits) => {
      const i = Number(seqId.slice(1));
      const next = texts[i][seqs[i].tokens.length];
      nll.push(-logSoftmax(logits)[next]);
      if (seqs[i].numOutput + 1 === SCORED) evicted += seqs[i].evictedTokens;
      return next;
    },
    () => {
      for (const s of seqs) if (s.status === 'running') peak = Math.max(peak, s.table.blocks.length * BS);
    },
  );
  return { nll: mean(nll), peak, evicted: evicted / texts.length };
}

export async function longContextRows(weights: ModelWeights, numTexts: number, log: (m: string) => void): Promise<{ rows: LongContextRow[]; backend: string }> {
  const { backend, description } = await createCpuBackend(weights, { blockSize: BS, numBlocks: numTexts * (TEXT / BS + 1) + 8 });
  try {
    log(`long context: sampling ${numTexts} texts of ${TEXT} tokens on ${description}`);
    const texts = await sampleTexts(backend, numTexts, 1);
    const rows: LongContextRow[] = [];
    const full = await scoreTexts(backend, texts, NO_LIMIT);
    rows.push({ budget: null, policy: 'none', nll: full.nll, peakTokensHeld: full.peak, evictedTokensPerText: full.evicted });
    for (const budget of BUDGETS) {
      for (const policy of POLICIES) {
        log(`long context: budget ${budget}, ${policy}`);
        const rng = new Rng(7);
        const r = await scoreTexts(backend, texts, { ...NO_LIMIT, budgetBlocks: budget / BS, policy, random: () => rng.next() });
        rows.push({ budget, policy, nll: r.nll, peakTokensHeld: r.peak, evictedTokensPerText: r.evicted });
      }
    }
    return { rows, backend: description };
  } finally {
    backend.dispose();
  }
}

export const longContextSection: BenchSection = {
  name: 'longcontext',
  needsGpu: false,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const numTexts = ctx.quick ? 10 : 50;
    const { rows, backend } = await longContextRows(ctx.stories.weights, numTexts, ctx.log);
    const full = rows[0].nll;
    const lines = [
      '## Long contexts: quality under a KV budget',
      '',
      `Teacher-forced NLL (nats per token) of the last ${SCORED} tokens of ${numTexts} texts of ${TEXT} tokens (stories260K's own samples, temperature 1, seeds 1000..${1000 + numTexts - 1}, EOS banned), the first ${TEXT - SCORED} prefilled under the budget. ${backend}. Peak: the most KV tokens one sequence held at any step (whole blocks of ${BS}; the budget plus the block being filled).`,
      '',
      '| budget | policy | NLL | vs full cache | perplexity | peak KV tokens held | tokens evicted per text |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.budget ?? 'full'} | ${r.budget === null ? 'none (full cache)' : r.policy} | ${fmt(r.nll, 4)} | ${r.budget === null ? '-' : `${r.nll >= full ? '+' : ''}${fmt(r.nll - full, 4)}`} | ${fmt(Math.exp(r.nll), 4)} | ${r.peakTokensHeld} | ${fmt(r.evictedTokensPerText, 4)} |`),
      '',
    ];
    return { markdown: lines.join('\n'), data: { numTexts, text: TEXT, scored: SCORED, backend, rows } };
  },
};
