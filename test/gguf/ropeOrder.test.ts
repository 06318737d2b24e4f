import { describe, expect, it } from 'vitest';
import { unpermuteRopeRows } from '../../src/gguf/ropeOrder.ts';

/** convert_hf_to_gguf.py's permute: w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(w.shape). */
function llamaCppPermute(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const d = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < d / 2; i++) {
        // source index [h, j, i] lands at [h, i, j]
        const from = h * d + j * (d / 2) + i;
        const to = h * d + i * 2 + j;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

describe('unpermuteRopeRows', () => {
  it("undoes llama.cpp's q/k permutation, for weights and for biases (one column)", () => {
    for (const [heads, headDim, cols] of [[4, 8, 3], [2, 64, 5], [3, 2, 1]]) {
      const w = Float32Array.from({ length: heads * headDim * cols }, (_, i) => i);
      expect(unpermuteRopeRows(llamaCppPermute(w, heads, cols), headDim, cols)).toEqual(w);
    }
  });

  it('pairs adjacent rows (2i, 2i+1) into rotate-half rows (i, i + d/2)', () => {
    const rows = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]); // one head, d = 8, one column
    expect([...unpermuteRopeRows(rows, 8, 1)]).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
  });
});
