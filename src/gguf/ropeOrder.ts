/**
 * llama.cpp's converter permutes the rows of a llama model's q and k projections so that its
 * adjacent-pair RoPE (rotating x[2i], x[2i+1]) computes what Hugging Face's rotate-half RoPE
 * (rotating x[i], x[i + d/2]) computes on the original rows. Folio rotates halves, so the rows
 * go back: within each head, Hugging Face row j*d/2 + i is GGUF row 2i + j
 * (`w.reshape(heads, d/2, 2, cols).swapaxes(1, 2)`). A bias is the one-column case.
 */
export function unpermuteRopeRows(values: Float32Array, headDim: number, cols: number): Float32Array {
  const half = headDim / 2;
  const rows = values.length / cols;
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const head = Math.floor(r / headDim);
    const within = r % headDim;
    const j = Math.floor(within / half);
    const i = within % half;
    const from = head * headDim + 2 * i + j;
    out.set(values.subarray(from * cols, (from + 1) * cols), r * cols);
  }
  return out;
}
