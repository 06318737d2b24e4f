import type { ModelWeights } from './weights.ts';

/** What a model's weights are made of, for stats and the app: "Q4_0 31 · F16 5 · F32 11". */
export interface WeightSummary {
  /** Tensor count per format, most common first; f32 tensors (norms, biases, widened weights) as F32. */
  formats: string;
  /** Bytes of the weights as a backend that keeps packed tensors packed holds them. */
  packedBytes: number;
  /** Bytes of the weights widened to f32, as the CPU backend holds them. */
  f32Bytes: number;
}

export function weightSummary(w: ModelWeights): WeightSummary {
  const counts = new Map<string, number>();
  const add = (format: string) => counts.set(format, (counts.get(format) ?? 0) + 1);
  let f32 = 0;
  let packed = 0;
  for (const t of w.tensors.values()) {
    add('F32');
    f32 += t.length * 4;
    packed += t.length * 4;
  }
  for (const t of w.packed?.values() ?? []) {
    add(t.format);
    f32 += t.rows * t.cols * 4;
    packed += t.bytes.byteLength;
  }
  const formats = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([f, n]) => `${f} ${n}`).join(' · ');
  return { formats, packedBytes: packed, f32Bytes: f32 };
}
