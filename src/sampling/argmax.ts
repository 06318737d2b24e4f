/** Index of the largest value; the first one on ties, as llama2.c's sample_argmax. */
export function argmax(x: ArrayLike<number>, offset = 0, length = x.length - offset): number {
  let best = 0;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    if (x[offset + i] > max) {
      max = x[offset + i];
      best = i;
    }
  }
  return best;
}
