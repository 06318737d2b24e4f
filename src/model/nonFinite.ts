/**
 * The index of the first NaN or infinity in `values`, or -1. One pass over the bits (exponent
 * all ones), run on each tensor as it is widened, so a poisoned checkpoint is refused at load
 * rather than generating empty text; it costs a fraction of the widening itself.
 */
export function firstNonFinite(values: Float32Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** Where element `i` of a tensor of `shape` sits, for a message: "[row, column]". */
export function elementIndex(i: number, shape: readonly number[]): string {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${at.join(', ')}]`;
}
