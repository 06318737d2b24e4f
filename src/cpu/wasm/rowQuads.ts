import type { KernelExports } from './kernels.ts';
import type { PlacedTensor } from './placeWeights.ts';
import { type KernelFormat, unitBytes } from './wat/decoders.ts';

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

/** Rearranges a placed tensor, written row-major, into the quad layout in place; `scratch`: 4 * rowBytes free bytes. */
export function placeRowQuads(k: KernelExports, t: PlacedTensor, scratch: number): void {
  if (t.rows >= 4) k[`place_quads_${t.format}`](t.at, t.rows, t.rowBytes, scratch);
}
