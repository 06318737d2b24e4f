import type { PlacedTensor } from './placeWeights.ts';
import { type KernelFormat, unitBytes } from './wat/matmul.ts';

/**
 * The matmul kernels' weight layout (wat/matmul.ts): rows in quads, rows 4q .. 4q + 3 interleaved
 * unit by unit (a unit: 4 columns of f32 or f16, one 32-column block of q8_0 or q4_0), so that a tile
 * over a quad reads memory as one sequential stream; the rows past the last whole quad stay
 * row-major. A tensor of fewer than 4 rows (norms, biases) is laid out as it comes.
 */

/** Columns of one unit. */
export function unitCols(format: KernelFormat): number {
  return format === 'f32' || format === 'f16' ? 4 : 32;
}

/** Byte address of unit u of row r of a placed tensor. */
export function unitAt(t: PlacedTensor, r: number, u: number): number {
  const unit = unitBytes(t.format);
  if (r >= t.rows - (t.rows % 4)) return t.at + r * t.rowBytes + u * unit;
  return t.at + (r - (r % 4)) * t.rowBytes + (4 * u + (r % 4)) * unit;
}

/** Writes `rows` row-major rows of `rowBytes` from `src` into `heap` at `at`, in the quad layout. */
export function writeRowQuads(src: Uint8Array, heap: Uint8Array, at: number, rows: number, rowBytes: number, format: KernelFormat): void {
  const unit = unitBytes(format);
  const units = rowBytes / unit;
  const quadBytes = 4 * rowBytes;
  const quads = Math.floor(rows / 4);
  if (unit % 4 === 0 && at % 4 === 0 && src.byteOffset % 4 === 0) {
    // Whole 32-bit words: a quarter of the element copies (f32 and f16 units).
    const s = new Int32Array(src.buffer, src.byteOffset, Math.floor(src.byteLength / 4));
    const d = new Int32Array(heap.buffer, heap.byteOffset, Math.floor(heap.byteLength / 4));
    const [w, rw] = [unit / 4, rowBytes / 4];
    for (let q = 0; q < quads; q++) {
      const base = (q * quadBytes) / 4;
      const out = at / 4 + base;
      for (let i = 0; i < 4; i++) for (let u = 0; u < units; u++) for (let k = 0; k < w; k++) d[out + (4 * u + i) * w + k] = s[base + i * rw + u * w + k];
    }
  } else {
    for (let q = 0; q < quads; q++) {
      const base = q * quadBytes;
      const out = at + base;
      for (let i = 0; i < 4; i++) for (let u = 0; u < units; u++) for (let k = 0; k < unit; k++) heap[out + (4 * u + i) * unit + k] = src[base + i * rowBytes + u * unit + k];
    }
  }
  heap.set(src.subarray(quads * quadBytes, rows * rowBytes), at + quads * quadBytes);
}
