import type { ModelConfig } from '../model/config.ts';

/**
 * Inverse frequencies of RoPE for one head, rotate-half convention (pairs i and i + d/2),
 * with llama3 frequency scaling where the config asks for it (as in transformers'
 * _compute_llama3_parameters).
 */
export function ropeInvFreq(c: ModelConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) {
      inv[i] = inv[i] / s.factor;
    } else if (wavelen >= highWavelen) {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** Rotates each head of `x` ([heads, headDim]) in place for position `pos`. */
export function applyRope(x: Float32Array, heads: number, headDim: number, pos: number, invFreq: Float64Array): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    const o = h * headDim;
    for (let i = 0; i < half; i++) {
      const a = pos * invFreq[i];
      const cos = Math.cos(a);
      const sin = Math.sin(a);
      const x0 = x[o + i];
      const x1 = x[o + i + half];
      x[o + i] = x0 * cos - x1 * sin;
      x[o + i + half] = x1 * cos + x0 * sin;
    }
  }
}
