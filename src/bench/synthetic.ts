import { expectedTensors, type ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { prng } from './stats.ts';

/** SmolLM2-135M's shape (config.json of HuggingFaceTB/SmolLM2-135M), with random weights. */
export const smolLm2Config: ModelConfig = {
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

/**
 * Seeded random weights of a config's shapes: projections ~ U(+-1.5 sqrt(3 / fan-in)), norms
 * near 1. Timing does not depend on the values, only on the shapes.
 */
export function syntheticWeights(config: ModelConfig, seed: number): ModelWeights {
  const rand = prng(seed);
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Float32Array(n);
    if (shape.length === 1) {
      const base = name.endsWith('norm.weight') ? 1 : 0;
      for (let i = 0; i < n; i++) t[i] = base + (rand() * 2 - 1) * 0.2;
    } else {
      const scale = name === 'model.embed_tokens.weight' ? 1 : Math.sqrt(3 / shape[1]) * 1.5;
      for (let i = 0; i < n; i++) t[i] = (rand() * 2 - 1) * scale;
    }
    tensors.set(name, t);
  }
  return { config, tensors, fingerprint: `synthetic-${config.hiddenSize}x${config.numLayers}-${seed}` };
}

/** Parameters of a config (tied embeddings counted once). */
export function parameterCount(config: ModelConfig): number {
  let n = 0;
  for (const [, shape] of expectedTensors(config)) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
