/** Dense f32 building blocks of the reference forward pass; accumulation in f64. */

/** out[r] = sum_c w[r, c] * x[c] (+ bias[r]); w row-major [rows, cols]. */
export function matvec(out: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number, bias?: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += w[o + c] * x[c];
    out[r] = bias ? s + bias[r] : s;
  }
}

export function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = weight[i] * (x[i] * scale);
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}
