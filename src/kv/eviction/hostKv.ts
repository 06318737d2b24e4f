import type { KeyShift } from '../BlockTable.ts';

/**
 * Eviction scores and the K-shift on whole blocks as readBlocks returns them (per block, per
 * layer, K then V, each [kvHeads, blockSize, headDim] f32): the CPU's definition, and the path
 * for backends that can read and write blocks but have no kernels of their own for these.
 */
export interface BlockLayout {
  layers: number;
  kvHeads: number;
  blockSize: number;
  headDim: number;
}

/** Per block, the mean over layers, KV heads and tokens of ||V|| / ||K|| (PagedEviction's token importance). */
export function scoreBlockData(data: Float32Array, numBlocks: number, s: BlockLayout): Float32Array {
  const n = s.kvHeads * s.blockSize * s.headDim;
  const out = new Float32Array(numBlocks);
  for (let i = 0; i < numBlocks; i++) {
    let sum = 0;
    for (let l = 0; l < s.layers; l++) {
      const k = ((i * s.layers + l) * 2) * n;
      const v = k + n;
      for (let r = 0; r < s.kvHeads * s.blockSize; r++) {
        let kk = 0;
        let vv = 0;
        for (let d = 0; d < s.headDim; d++) {
          kk += data[k + r * s.headDim + d] ** 2;
          vv += data[v + r * s.headDim + d] ** 2;
        }
        sum += Math.sqrt(vv) / Math.max(Math.sqrt(kk), 1e-12);
      }
    }
    out[i] = sum / (s.layers * s.kvHeads * s.blockSize);
  }
  return out;
}

/**
 * Rotates, in place, every key of block i of `data` by shifts[i].delta positions (rotate-half
 * RoPE with `invFreq`; rotations compose, so this is RoPE at the new position).
 */
export function shiftBlockData(data: Float32Array, shifts: readonly KeyShift[], invFreq: Float64Array, s: BlockLayout): void {
  const n = s.kvHeads * s.blockSize * s.headDim;
  const half = s.headDim / 2;
  shifts.forEach(({ delta }, i) => {
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    for (let j = 0; j < half; j++) {
      cos[j] = Math.cos(delta * invFreq[j]);
      sin[j] = Math.sin(delta * invFreq[j]);
    }
    for (let l = 0; l < s.layers; l++) {
      const k = ((i * s.layers + l) * 2) * n;
      for (let r = 0; r < s.kvHeads * s.blockSize; r++) {
        const o = k + r * s.headDim;
        for (let j = 0; j < half; j++) {
          const x0 = data[o + j];
          const x1 = data[o + j + half];
          data[o + j] = x0 * cos[j] - x1 * sin[j];
          data[o + j + half] = x1 * cos[j] + x0 * sin[j];
        }
      }
    }
  });
}
