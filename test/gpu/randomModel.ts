import type { ModelConfig } from '../../src/model/config.ts';
import { buildWeights } from '../../src/model/synthetic.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { Rng } from '../../src/sampling/Rng.ts';

/** A seeded PRNG, uniform in [0, 1): the project's Rng (mulberry32) as a function. */
export function prng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Uniform values in [-scale, scale). */
export function randomArray(rand: () => number, n: number, scale = 1): Float32Array<ArrayBuffer> {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

const base: ModelConfig = {
  modelType: 'llama',
  hiddenSize: 64,
  intermediateSize: 172,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  headDim: 8,
  vocabSize: 512,
  maxPositions: 512,
  ropeTheta: 10000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  qkvBias: false,
  bosTokenId: 1,
  eosTokenIds: [2],
};

/** The shape of stories260K (llama2.c): tied embeddings, 8 heads over 4 KV heads. */
export const storiesConfig: ModelConfig = base;

/** GQA 4:1, q/k/v biases (Qwen2), llama3 RoPE scaling that touches all three frequency bands, untied LM head. */
export const qwenLikeConfig: ModelConfig = {
  ...base,
  modelType: 'qwen2',
  numLayers: 3,
  numKvHeads: 2,
  ropeTheta: 10000,
  ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
  tieWordEmbeddings: false,
  qkvBias: true,
};

/**
 * A smaller stories shape for the real-GPU-shape arms (gpuShapes), whose GEMV (a workgroup per
 * weight row, subgroup or tree reductions) costs SwiftShader 0.1-0.5 ms per workgroup: one layer,
 * a narrower MLP and vocabulary.
 */
export const tinyConfig: ModelConfig = { ...base, numLayers: 1, intermediateSize: 64, vocabSize: 128 };

/** Random weights of a config's shapes: projections ~ 1/sqrt(fan-in), norms near 1 (uniform; the GPU tests' tolerances are tuned to these). */
export function randomWeights(config: ModelConfig, seed: number): ModelWeights {
  const rand = prng(seed);
  return buildWeights(
    config,
    (name, shape, n) => {
      if (shape.length === 1 && name.endsWith('norm.weight')) return randomArray(rand, n, 0.2).map((v) => 1 + v);
      if (shape.length === 1) return randomArray(rand, n, 0.2);
      if (name === 'model.embed_tokens.weight') return randomArray(rand, n, 1);
      return randomArray(rand, n, Math.sqrt(3 / shape[1]) * 1.5);
    },
    `random-${seed}`,
  );
}

/** Random token ids (never 0, so that a stray zero read shows). */
export function randomTokens(rand: () => number, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => 1 + Math.floor(rand() * (vocab - 1)));
}

/** A block table of `n` distinct ids from `pool` blocks, scrambled so only the table addresses the cache. */
export function scrambledBlocks(rand: () => number, pool: number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(...pool.splice(Math.floor(rand() * pool.length), 1));
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** First index of the largest value (ties to the lowest index, like the GPU argmax). */
export function argmax(a: Float32Array, from = 0, to = a.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}
