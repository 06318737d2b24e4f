/**
 * Synthetic models: a real model's shape with random weights, for tests and benchmarks that need
 * the shape but not a trained checkpoint. The random source is a parameter (uniform in [0, 1)),
 * so that this module depends on no PRNG of ours: pass `() => rng.next()` for a seeded one.
 */
import { expectedTensors, type ModelConfig } from './config.ts';
import type { ModelWeights } from './weights.ts';

/** SmolLM2-135M's shape (config.json of HuggingFaceTB/SmolLM2-135M). */
export const SMOLLM2_135M: ModelConfig = {
  modelType: 'llama',
  hiddenSize: 576,
  intermediateSize: 1536,
  numLayers: 30,
  numHeads: 9,
  numKvHeads: 3,
  headDim: 64,
  vocabSize: 49152,
  maxPositions: 8192,
  ropeTheta: 100000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  qkvBias: false,
  bosTokenId: 1,
  eosTokenIds: [2],
};

/** Makes one tensor of `n` values; called once per tensor, in expectedTensors order. */
export type TensorFill = (name: string, shape: readonly number[], n: number) => Float32Array;

/** Weights with every tensor a config expects, each made by `fill`. */
export function buildWeights(config: ModelConfig, fill: TensorFill, fingerprint: string): ModelWeights {
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensors(config)) tensors.set(name, fill(name, shape, shape.reduce((a, b) => a * b, 1)));
  return { config, tensors, fingerprint };
}

/** `n` draws of N(mean, std^2): Box-Muller, two draws per pair of `rand()` calls. */
export function normals(rand: () => number, n: number, mean: number, std: number): Float32Array<ArrayBuffer> {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const t = 2 * Math.PI * rand();
    a[i] = mean + std * r * Math.cos(t);
    if (i + 1 < n) a[i + 1] = mean + std * r * Math.sin(t);
  }
  return a;
}

export interface SyntheticOptions {
  /** Standard deviation of matrices and biases (mean 0). Default 0.02. */
  std?: number;
  /** Standard deviation of RMSNorm weights (mean 1). Default 0.05. */
  normStd?: number;
  /** Default `synthetic-<hidden>x<layers>`. */
  fingerprint?: string;
}

/**
 * Random weights at the scale of a trained small model: matrices (and any biases) N(0, 0.02),
 * RMSNorm weights N(1, 0.05). `rand` is uniform in [0, 1).
 */
export function syntheticWeights(config: ModelConfig, rand: () => number, opts: SyntheticOptions = {}): ModelWeights {
  const { std = 0.02, normStd = 0.05 } = opts;
  return buildWeights(
    config,
    (name, shape, n) => (shape.length === 1 && name.endsWith('norm.weight') ? normals(rand, n, 1, normStd) : normals(rand, n, 0, std)),
    opts.fingerprint ?? `synthetic-${config.hiddenSize}x${config.numLayers}`,
  );
}

/** Parameters of a config (tied embeddings counted once). */
export function parameterCount(config: ModelConfig): number {
  let n = 0;
  for (const [, shape] of expectedTensors(config)) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
