/**
 * Synthetic packed models of real shapes for the weights bench: plain TypeScript, so that the
 * same code makes them in Node (Dawn) and in a browser worker (weightsChromium.ts).
 */
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import { SMOLLM2_135M } from '../model/synthetic.ts';
import type { ModelWeights, PackedTensor } from '../model/weights.ts';
import { FORMATS, quantize, type WeightFormat } from '../quant/index.ts';
import { formatForRow } from '../quant/quantizeModel.ts';

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
