/**
 * The speculative section's sampled part (issue 17's statistical Done-when): many seeded short
 * generations (max_tokens 3, temperature 1, top_k 4) on stories260K, without speculation and with
 * each drafter, and a chi-square test of homogeneity on the first two tokens: speculative
 * sampling must leave the output distribution the target's. The drafting starts at the second
 * token (the first comes from the prefill), so the pair (first, second) is where a wrong
 * acceptance rule or residual would show; the third (the target's own token after an accepted
 * draft) is tested too, as the triple.
 *
 * Arms, each on a CPU backend and engine of its own, seeds disjoint between arms (so that the
 * samples are independent; the same seeds would share their first token and bias p upwards):
 * plain; ngram (prompt lookup, on a repetitive prompt so that it drafts); a deliberately poor
 * drafter (always token 5, nearly always rejected: the residual draw); the draft model (the
 * target's own weights in q4_0, drawing its drafts at the request's temperature: probabilistic
 * acceptance); and a control that must fail the test (plain sampling at temperature 0.9), which
 * shows the test can tell a small change apart at this many draws. Requests go in waves that the engine batches (one prefill, then decode steps).
 */
import { createCpuBackend } from '../cpu/cpuKernels.ts';
import { Engine } from '../engine/Engine.ts';
import type { Request } from '../engine/Request.ts';
import type { Sequence } from '../scheduler/Sequence.ts';
import type { ModelWeights } from '../model/weights.ts';
import { homogeneityPValue } from '../speculative/chiSquare.ts';
import type { Drafter } from '../speculative/Drafter.ts';
import type { Drafters } from '../speculative/Speculation.ts';
import { DraftModelDrafter } from '../speculative/DraftModelDrafter.ts';
import type { SpeculativeParam } from '../speculative/speculativeParams.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { fmt } from './stats.ts';

/** Three of the four likeliest first tokens ("big", "little", "c") occur in the prompt: n-gram lookup drafts after them. */
const PROMPT = 'Tom saw a big cat and a little dog. Tom saw a';
const TOP_K = 4;
const MAX_TOKENS = 3;
const WAVE = 2000;
const BS = 16;
// Each sequence: the prompt (18 tokens), 3 output tokens: two blocks (the first shared once the prefix cache holds it).

/** Always drafts token 5, which the target rarely picks: nearly every draft is rejected. */
const poorDrafter: Drafter = {
  method: 'ngram',
  propose: (reqs) => Promise.resolve(reqs.map((r) => ({ tokens: Array<number>(r.k).fill(5), probs: null }))),
  release: () => {},
};

export interface SampledArmRow {
  arm: string;
  /** The control, which the test must tell apart from plain sampling. */
  control: boolean;
  draws: number;
  drafted: number;
  accepted: number;
  /** Chi-square homogeneity p-values against the plain arm: the first two tokens, and all three (null for plain). */
  pPair: number | null;
  pTriple: number | null;
  seconds: number;
}

interface Arm {
  label: string;
  speculative: SpeculativeParam | null;
  drafters: () => Promise<Drafters>;
  /** 1 but for the control. */
  temperature?: number;
}

/** `draws` seeded generations per arm (seeds from `firstSeed` on): one row per arm, plain first (its p-values null). */
export async function sampledFirstTokens(stories: { weights: ModelWeights; tokenizer: Tokenizer }, draftWeights: ModelWeights, draws: number, log: (m: string) => void, firstSeed = 0): Promise<SampledArmRow[]> {
  const arms: Arm[] = [
    { label: 'plain', speculative: null, drafters: async () => ({}) },
    { label: 'ngram', speculative: { method: 'ngram', k: 1 }, drafters: async () => ({}) },
    { label: 'poor drafter (always token 5)', speculative: { method: 'ngram', k: 1 }, drafters: async () => ({ ngram: poorDrafter }) },
    { label: 'draft model (q4_0 self, sampled drafts)', speculative: { method: 'draft', k: 1 }, drafters: async () => ({ draft: await draftModel(draftWeights, 2 * WAVE), draftModel: 'q4_0' }) },
    // The test's power: a slightly different distribution (plain sampling at temperature 0.9) must be told apart (p < 0.01).
    { label: 'control: plain at temperature 0.9', speculative: null, drafters: async () => ({}), temperature: 0.9 },
  ];
  const rows: SampledArmRow[] = [];
  let plain: Map<string, number>[] | null = null;
  for (const [i, arm] of arms.entries()) {
    const t0 = performance.now();
    // Seeds disjoint between arms.
    const { counts, drafted, accepted } = await runArm(stories, arm, draws, firstSeed + i * draws);
    const row: SampledArmRow = { arm: arm.label, control: arm.temperature !== undefined, draws, drafted, accepted, pPair: null, pTriple: null, seconds: (performance.now() - t0) / 1000 };
    if (!plain) plain = counts;
    else [row.pPair, row.pTriple] = counts.map((c, j) => homogeneity(plain![j], c));
    rows.push(row);
    log(`speculative sampled: ${arm.label}: ${draws} draws in ${fmt(row.seconds)} s, ${accepted}/${drafted} drafts accepted${row.pPair === null ? '' : `, p(first two) ${fmt(row.pPair, 3)}, p(all three) ${fmt(row.pTriple!, 3)}`}`);
  }
  return rows;
}

/** One arm on a backend and engine of its own: counts of (first two) and (all three) output ids, and the drafts. */
async function runArm(stories: { weights: ModelWeights; tokenizer: Tokenizer }, arm: Arm, draws: number, firstSeed: number): Promise<{ counts: Map<string, number>[]; drafted: number; accepted: number }> {
  const { backend } = await createCpuBackend(stories.weights, { blockSize: BS, numBlocks: 2 * WAVE + 8 });
  const drafters = await arm.drafters();
  try {
    const engine = new Engine(backend, stories.tokenizer, { modelName: 'stories260K', fingerprint: stories.weights.fingerprint, maxBatchTokens: 32 * 1024, drafters });
    // Output ids straight from the scheduler's sequences (events carry text).
    const seqs: Sequence<Request>[] = [];
    const add = engine.scheduler.add.bind(engine.scheduler);
    engine.scheduler.add = (req) => {
      const seq = add(req);
      seqs.push(seq);
      return seq;
    };
    const counts = [new Map<string, number>(), new Map<string, number>()];
    for (let start = 0; start < draws; start += WAVE) {
      seqs.length = 0;
      const n = Math.min(WAVE, draws - start);
      await Promise.all(Array.from({ length: n }, (_, j) => generate(engine, firstSeed + start + j, arm)));
      for (const seq of seqs) {
        const out = seq.outputTokens;
        if (out.length !== MAX_TOKENS) throw new Error(`a sampled generation gave ${out.length} tokens, not ${MAX_TOKENS}`);
        for (const [j, len] of [2, 3].entries()) {
          const key = out.slice(0, len).join(' ');
          counts[j].set(key, (counts[j].get(key) ?? 0) + 1);
        }
      }
    }
    const s = engine.stats().speculative;
    return { counts, drafted: s.drafted_tokens, accepted: s.accepted_tokens };
  } finally {
    drafters.draft?.dispose?.();
    backend.dispose();
  }
}

/** Chi-square homogeneity over the union of the cells two samples hit. */
function homogeneity(a: Map<string, number>, b: Map<string, number>): number {
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  return homogeneityPValue(keys.map((k) => a.get(k) ?? 0), keys.map((k) => b.get(k) ?? 0));
}

async function draftModel(weights: ModelWeights, blocks: number): Promise<DraftModelDrafter> {
  const { backend } = await createCpuBackend(weights, { blockSize: BS, numBlocks: blocks + 8 });
  return new DraftModelDrafter(backend);
}

/** One seeded request, to its end. */
function generate(engine: Engine, seed: number, arm: Arm): Promise<void> {
  const speculative = arm.speculative;
  return new Promise((resolve, reject) => {
    engine
      .generate({ prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: arm.temperature ?? 1, top_k: TOP_K, seed, ...(speculative ? { speculative } : {}) }, (events) => {
        for (const e of events) {
          if (e.type === 'error') reject(e.error);
          else if (e.type === 'done') resolve();
        }
      })
      .catch(reject);
  });
}
