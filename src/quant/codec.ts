// dequantize / quantize for every WeightFormat: size checks here, the block code in one file per family.
import { blockCount, FORMATS, type WeightFormat } from './formats.ts';
import { dequantizeBF16, dequantizeF16, dequantizeF32, quantizeBF16, quantizeF16, quantizeF32 } from './float.ts';
import { dequantizeQ4_0, dequantizeQ4_1, dequantizeQ5_0, dequantizeQ5_1, dequantizeQ8_0 } from './legacy.ts';
import { quantizeQ4_0, quantizeQ4_1, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0 } from './legacy-quantize.ts';
import { dequantizeQ4_K, dequantizeQ5_K, dequantizeQ6_K } from './kquants.ts';
import { quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from './kquants-quantize.ts';

type BlockDequant = (bytes: Uint8Array, nBlocks: number, out: Float32Array) => void;
type BlockQuant = (values: Float32Array, nBlocks: number, out: Uint8Array) => void;

const DEQUANT: Record<WeightFormat, BlockDequant> = {
  F32: dequantizeF32,
  F16: dequantizeF16,
  BF16: dequantizeBF16,
  Q8_0: dequantizeQ8_0,
  Q4_0: dequantizeQ4_0,
  Q4_1: dequantizeQ4_1,
  Q5_0: dequantizeQ5_0,
  Q5_1: dequantizeQ5_1,
  Q4_K: dequantizeQ4_K,
  Q5_K: dequantizeQ5_K,
  Q6_K: dequantizeQ6_K,
};

const whole = (f: (v: Float32Array) => Uint8Array): BlockQuant => (v, _n, out) => out.set(f(v));

const QUANT: Record<WeightFormat, BlockQuant> = {
  F32: whole(quantizeF32),
  F16: whole(quantizeF16),
  BF16: whole(quantizeBF16),
  Q8_0: quantizeQ8_0,
  Q4_0: quantizeQ4_0,
  Q4_1: quantizeQ4_1,
  Q5_0: quantizeQ5_0,
  Q5_1: quantizeQ5_1,
  Q4_K: quantizeQ4_K,
  Q5_K: quantizeQ5_K,
  Q6_K: quantizeQ6_K,
};

/** Dequantizes packed bytes into f32, exactly as gguf-py 0.19 / ggml do (float32 arithmetic from the f16 scales). */
export function dequantize(format: WeightFormat, bytes: Uint8Array, numElements: number, out?: Float32Array): Float32Array {
  const nBlocks = blockCount(format, numElements);
  const need = nBlocks * FORMATS[format].blockBytes;
  if (bytes.length < need) {
    throw new RangeError(`${format}: ${numElements} elements need ${need} bytes, got ${bytes.length}`);
  }
  const result = out ?? new Float32Array(numElements);
  if (result.length < numElements) {
    throw new RangeError(`${format}: output holds ${result.length} values, ${numElements} needed`);
  }
  DEQUANT[format](bytes, nBlocks, result);
  return result;
}

/** Quantizes f32 values; bit-exact with ggml's quantize_row_*_ref for the legacy types; for K-quants a round-to-nearest (or better) quantizer that round-trips within the errors the test vectors show. */
export function quantize(format: WeightFormat, values: Float32Array): Uint8Array {
  const nBlocks = blockCount(format, values.length);
  const out = new Uint8Array(nBlocks * FORMATS[format].blockBytes);
  QUANT[format](values, nBlocks, out);
  return out;
}
