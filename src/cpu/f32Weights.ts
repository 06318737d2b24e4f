import type { ModelWeights } from '../model/weights.ts';
import { dequantize } from '../quant/index.ts';

/**
 * Every tensor of a model as f32, by name: packed weights dequantized once (src/quant, the same
 * decoding the GPU's preambles are checked against), f32 ones as they are. The CPU reference
 * computes every format this way, dequantize then f32, so it stays the oracle.
 */
export function f32Weights(w: ModelWeights): Map<string, Float32Array> {
  if (!w.packed || w.packed.size === 0) return w.tensors;
  const all = new Map(w.tensors);
  for (const [name, p] of w.packed) all.set(name, dequantize(p.format, p.bytes, p.rows * p.cols));
  return all;
}
