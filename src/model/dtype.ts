import { bf16ToFloat, dequantize, floatToBf16, floatToHalf, halfToFloat } from '../quant/index.ts';
import type { DType, Tensor } from './weights.ts';

/** Bytes per element of each dtype Folio reads. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = { F32: 4, F16: 2, BF16: 2 };

export function isDType(s: unknown): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

// The f16 and bf16 conversions are weight formats like the others (src/quant), bit-exact with
// ggml; the model room keeps the names it has always used for them.
export { bf16ToFloat as bf16BitsToF32, floatToBf16 as f32ToBf16Bits, floatToHalf as f32ToF16Bits, halfToFloat as f16BitsToF32 };

/**
 * A tensor's elements as f32. An aligned F32 tensor is returned as a view of its bytes
 * (no copy: a multi-GB model must not be held twice); everything else is a new array.
 * Assumes a little-endian host, as every browser platform is.
 */
export function widen(t: Tensor): Float32Array {
  const { dtype, bytes } = t;
  if (dtype === 'F32') {
    const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }
  return dequantize(dtype, bytes, bytes.byteLength / 2);
}

/** f32 data narrowed to `dtype` (ties to even) as a Tensor; for tests and synthetic models. */
export function narrow(data: Float32Array, shape: number[], dtype: DType): Tensor {
  if (dtype === 'F32') {
    const copy = data.slice();
    return { dtype, shape, bytes: new Uint8Array(copy.buffer) };
  }
  const words = new Uint16Array(data.length);
  const toBits = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < data.length; i++) words[i] = toBits(data[i]);
  return { dtype, shape, bytes: new Uint8Array(words.buffer) };
}
