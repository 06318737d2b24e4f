import { ModelFormatError } from '../errors.ts';
import type { Llama3RopeScaling } from '../model/config.ts';

const TENSOR = 'rope_freqs.weight';
/** llama3's defaults (transformers and convert_hf_to_gguf.py alike), assumed and then verified. */
const LOW_FREQ_FACTOR = 1;
const HIGH_FREQ_FACTOR = 4;
const ORIGINAL_MAX_POSITIONS = 8192;
/** The file's factors are f32 from an f32 computation; Folio recomputes them in f64. */
const RELATIVE_TOLERANCE = 1e-5;

/**
 * llama.cpp stores llama3 RoPE scaling (Llama 3.1, 3.2) not as parameters but as one divisor per
 * frequency, `rope_freqs.weight` [head_dim / 2], which convert_hf_to_gguf.py computes from
 * (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings). Folio's RoPE
 * takes the parameters, so they are recovered: the factor is the largest divisor, the original
 * context follows from any smoothed divisor, and the result must reproduce every divisor, or
 * the tensor is refused by name.
 */
export function llama3FromRopeFactors(factors: Float32Array, ropeTheta: number, headDim: number, file: string, originalHint?: number): Llama3RopeScaling | null {
  if (factors.length !== headDim / 2) throw new ModelFormatError(file, `holds ${factors.length} factors; a head of ${headDim} has ${headDim / 2} frequencies`, TENSOR);
  if (factors.every((f) => f === 1)) return null;
  const factor = Math.max(...factors);
  const wavelens = Array.from({ length: headDim / 2 }, (_, i) => 2 * Math.PI * Math.pow(ropeTheta, (2 * i) / headDim));
  const candidates = [...smoothedOriginals(factors, wavelens, factor), ...(originalHint ? [originalHint] : []), ORIGINAL_MAX_POSITIONS];
  for (const originalMaxPositions of candidates) {
    const s: Llama3RopeScaling = { type: 'llama3', factor, lowFreqFactor: LOW_FREQ_FACTOR, highFreqFactor: HIGH_FREQ_FACTOR, originalMaxPositions };
    if (llama3Factors(s, wavelens).every((f, i) => Math.abs(f - factors[i]) <= RELATIVE_TOLERANCE * f)) return s;
  }
  throw new ModelFormatError(file, `holds RoPE factors that llama3 scaling (low_freq_factor ${LOW_FREQ_FACTOR}, high_freq_factor ${HIGH_FREQ_FACTOR}) does not produce; Folio runs no other frequency scaling`, TENSOR);
}

/** The divisors convert_hf_to_gguf.py writes for llama3 parameters. */
export function llama3Factors(s: Llama3RopeScaling, wavelens: readonly number[]): number[] {
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return wavelens.map((w) => {
    if (w < highWavelen) return 1;
    if (w > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositions / w - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/** The original context a smoothed divisor implies (1/f = (1 - s)/factor + s, s = (orig/wavelen - low)/(high - low)). */
function smoothedOriginals(factors: Float32Array, wavelens: number[], factor: number): number[] {
  const out: number[] = [];
  factors.forEach((f, i) => {
    if (f === 1 || f === factor) return;
    const smooth = (1 / f - 1 / factor) / (1 - 1 / factor);
    out.push(Math.round(wavelens[i] * (smooth * (HIGH_FREQ_FACTOR - LOW_FREQ_FACTOR) + LOW_FREQ_FACTOR)));
  });
  return out;
}
