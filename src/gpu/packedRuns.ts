/**
 * Weight tensors as the bytes a packed binding holds: runs of stacked tensors in one format,
 * concatenated row after row and zero-padded to whole u32 words (wgsl/formats/common.wgsl).
 */
import { isPacked, type Weight } from '../model/weights.ts';
import { dequantize, FORMATS, type WeightFormat } from '../quant/index.ts';
import { unitElems } from './formatKernels.ts';

export interface PackedRun {
  format: WeightFormat;
  /** Weight rows in the run (all its tensors together). */
  rows: number;
  words: Uint32Array<ArrayBuffer>;
}

/** Whether the packed products can walk rows of k values in this format unit by unit. */
export function packable(format: WeightFormat, k: number): boolean {
  return k > 0 && k % FORMATS[format].blockElems === 0 && k % unitElems(format) === 0;
}

/** Packed tensors of one format, their bytes back to back. */
export function packedRun(ts: Weight[]): PackedRun {
  const packed = ts.filter(isPacked);
  if (packed.length !== ts.length || packed.some((t) => t.format !== packed[0].format)) throw new TypeError('a packed run holds packed tensors of one format');
  const bytes = packed.reduce((n, t) => n + t.bytes.length, 0);
  const words = new Uint32Array(Math.ceil(bytes / 4));
  const view = new Uint8Array(words.buffer);
  let at = 0;
  for (const t of packed) {
    view.set(t.bytes, at);
    at += t.bytes.length;
  }
  return { format: packed[0].format, rows: packed.reduce((n, t) => n + t.rows, 0), words };
}

/** Tensors of rows of k values widened to f32, as an F32 run (the packed format every k % 4 == 0 suits). */
export function widenToF32Run(k: number, ...ts: Weight[]): PackedRun {
  const values = ts.map((t) => (isPacked(t) ? dequantize(t.format, t.bytes, t.rows * t.cols) : t));
  const all = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of values) {
    all.set(v, at);
    at += v.length;
  }
  return { format: 'F32', rows: all.length / k, words: new Uint32Array(all.buffer) };
}
