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
 * acceptance). Requests go in waves that the engine batches (one prefill, then decode steps).
 */
import { createCpuBackend } from '../cpu/cpuKernels.ts';
import { Engine } from '../engine/Engine.ts';
import type { ModelWeights } from '../model/weights.ts';
import { homogeneityPValue } from '../speculative/chiSquare.ts';
import type { Drafter, Drafters } from '../speculative/Drafter.ts';
import { DraftModelDrafter } from '../speculative/DraftModelDrafter.ts';
import type { SpeculativeParam } from '../speculative/speculativeParams.ts';
import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { fmt } from './stats.ts';

/** The prompt repeats itself, so that n-gram lookup finds a continuation for the first token. */
const PROMPT = 'Tom saw a cat. Tom saw a dog. Tom saw a';
const TOP_K = 4;
const MAX_TOKENS = 3;
const WAVE = 2000;
const BS = 16;

/** Always drafts token 5, which the target rarely picks: nearly every draft is rejected. */
const poorDrafter: Drafter = {
  method: 'ngram',
  propose: (reqs) => Promise.resolve(reqs.map((r) => ({ tokens: Array<number>(r.k).fill(5), probs: null }))),
  release: () => {},
};

export interface SampledArmRow {
  arm: string;
  draws: number;
  drafted: number;
  accepted: number;
  /** Chi-square homogeneity p-values against the plain arm: first two tokens, and all three. */
  pPair: number | null;
  pTriple: number | null;
  seconds: number;
}

interface Arm {
  label: string;
  speculative: SpeculativeParam | null;
  drafters: () => Promise<Drafters>;
}

/** `draws` seeded generations per arm; the rows (plain first, with null p-values) and the drafters' counts. */
export async function sampledFirstTokens(stories: { weights: ModelWeights; tokenizer: Tokenizer }, draftWeights: ModelWeights, draws: number, log: (m: string) => void): Promise<SampledArmRow[]> {
  const vocab = stories.weights.config.vocabSize;
  const arms: Arm[] = [
    { label: 'plain', speculative: null, drafters: async () => ({}) },
    { label: 'ngram', speculative: { method: 'ngram', k: 1 }, drafters: async () => ({}) },
    { label: 'poor drafter (always token 5)', speculative: { method: 'ngram', k: 1 }, drafters: async () => ({ ngram: poorDrafter }) },
    { label: 'draft model (q4_0 self, sampled drafts)', speculative: { method: 'draft', k: 1 }, drafters: async () => ({ draft: await draftModel(draftWeights, WAVE), draftModel: 'q4_0' }) },
  ];
  const rows: SampledArmRow[] = [];
  let plain: { pairs: number[]; triples: number[] } | null = null;
  for (const [i, arm] of arms.entries()) {
    const t0 = performance.now();
    const { backend } = await createCpuBackend(stories.weights, { blockSize: BS, numBlocks: WAVE + 8 });
    const drafters = await arm.drafters();
    const engine = new Engine(backend, stories.tokenizer, { modelName: 'stories260K', fingerprint: stories.weights.fingerprint, maxBatchTokens: 32 * 1024, drafters });
    const pairs = new Array<number>(vocab * vocab).fill(0);
    const triples = new Map<string, number>();
    try {
      for (let start = 0; start < draws; start += WAVE) {
        const seeds = Array.from({ length: Math.min(WAVE, draws - start) }, (_, j) => i * draws + start + j);
        for (const out of await Promise.all(seeds.map((seed) => generate(engine, seed, arm.speculative)))) {
          pairs[out[0] * vocab + out[1]]++;
          triples.set(out.join(' '), (triples.get(out.join(' ')) ?? 0) + 1);
        }
      }
    } finally {
      (drafters.draft as DraftModelDrafter | undefined)?.dispose();
      backend.dispose();
    }
    const tripleCounts = (keys: string[], m: Map<string, number>) => keys.map((k) => m.get(k) ?? 0);
    const s = engine.stats().speculative;
    const row: SampledArmRow = { arm: arm.label, draws, drafted: s.drafted_tokens, accepted: s.accepted_tokens, pPair: null, pTriple: null, seconds: (performance.now() - t0) / 1000 };
    if (!plain) plain = { pairs, triples: [] };
    else row.pPair = homogeneityPValue(plain.pairs, pairs);
    if (i === 0) plainTriples = triples;
    else {
      const keys = [...new Set([...plainTriples.keys(), ...triples.keys()])];
      row.pTriple = homogeneityPValue(tripleCounts(keys, plainTriples), tripleCounts(keys, triples));
    }
    rows.push(row);
    log(`speculative sampled: ${arm.label}: ${draws} draws in ${fmt(row.seconds)} s, ${row.accepted}/${row.drafted} drafts accepted${row.pPair === null ? '' : `, p(first two) ${fmt(row.pPair, 3)}, p(all three) ${fmt(row.pTriple!, 3)}`}`);
  }
  return rows;
}

let plainTriples = new Map<string, number>();

async function draftModel(weights: ModelWeights, sequences: number): Promise<DraftModelDrafter> {
  const { backend } = await createCpuBackend(weights, { blockSize: BS, numBlocks: sequences + 8 });
  return new DraftModelDrafter(backend);
}

/** One seeded request's output ids. */
function generate(engine: Engine, seed: number, speculative: SpeculativeParam | null): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const ids: number[] = [];
    engine
      .generate({ prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 1, top_k: TOP_K, seed, ...(speculative ? { speculative } : {}) }, (events) => {
        for (const e of events) {
          if (e.type === 'error') reject(e.error);
          else if (e.type === 'done') resolve(ids);
        }
      })
      .catch(reject);
  });
}
