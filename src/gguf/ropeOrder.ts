/**
 * llama.cpp's converter permutes the rows of a llama model's q and k projections so that its
 * adjacent-pair RoPE (rotating x[2i], x[2i+1]) computes what Hugging Face's rotate-half RoPE
 * (rotating x[i], x[i + d/2]) computes on the original rows. Folio rotates halves, so the rows
 * go back: within each head, Hugging Face row j*d/2 + i is GGUF row 2i + j
 * (`w.reshape(heads, d/2, 2, cols).swapaxes(1, 2)`). A bias is the one-column case.
 */
export function unpermuteRopeRows(values: Float32Array, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  eachRowSource(values.length / cols, headDim, (to, from) => out.set(values.subarray(from * cols, (from + 1) * cols), to * cols));
  return out;
}

/**
 * The same on packed rows of `rowBytes` bytes each: the permutation moves whole rows, and a
 * packed row is a whole number of blocks, so the bytes move without being decoded.
 */
export function unpermuteRopeRowBytes(bytes: Uint8Array, headDim: number, rowBytes: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  eachRowSource(bytes.length / rowBytes, headDim, (to, from) => out.set(bytes.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes));
  return out;
}

/** Calls visit(hfRow, ggufRow) for every Hugging Face row of a projection. */
function eachRowSource(rows: number, headDim: number, visit: (to: number, from: number) => void): void {
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const head = Math.floor(r / headDim);
    const within = r % headDim;
    const j = Math.floor(within / half);
    const i = within % half;
    visit(r, head * headDim + 2 * i + j);
  }
}
