/**
 * Weight formats on the GPU: a kernel that reads packed weights is composed as
 *   wgsl/formats/common.wgsl + wgsl/formats/<format>.wgsl + the kernel's file,
 * plain concatenation, nothing else built from strings. Each preamble defines BLOCK_ELEMS,
 * BLOCK_BYTES, UNIT_ELEMS, UNIT_VEC4, dequant(row_byte, k) and dequant_unit(row_byte, u) over the
 * kernel's `weights: array<u32>` binding (see common.wgsl).
 */
import type { WeightFormat } from '../quant/formats.ts';
import { FORMATS } from '../quant/formats.ts';
import commonSrc from '../../wgsl/formats/common.wgsl?raw';
import f32Src from '../../wgsl/formats/f32.wgsl?raw';
import f16Src from '../../wgsl/formats/f16.wgsl?raw';
import bf16Src from '../../wgsl/formats/bf16.wgsl?raw';
import q8_0Src from '../../wgsl/formats/q8_0.wgsl?raw';
import q4_0Src from '../../wgsl/formats/q4_0.wgsl?raw';
import q4_1Src from '../../wgsl/formats/q4_1.wgsl?raw';
import q5_0Src from '../../wgsl/formats/q5_0.wgsl?raw';
import q5_1Src from '../../wgsl/formats/q5_1.wgsl?raw';
import q4_kSrc from '../../wgsl/formats/q4_k.wgsl?raw';
import q5_kSrc from '../../wgsl/formats/q5_k.wgsl?raw';
import q6_kSrc from '../../wgsl/formats/q6_k.wgsl?raw';
import dequantizeSrc from '../../wgsl/dequantize.wgsl?raw';

const PREAMBLES: Readonly<Record<WeightFormat, string>> = {
  F32: f32Src,
  F16: f16Src,
  BF16: bf16Src,
  Q8_0: q8_0Src,
  Q4_0: q4_0Src,
  Q4_1: q4_1Src,
  Q5_0: q5_0Src,
  Q5_1: q5_1Src,
  Q4_K: q4_kSrc,
  Q5_K: q5_kSrc,
  Q6_K: q6_kSrc,
};

/** The kernel source with the format's preamble in front of it. */
export function withFormat(format: WeightFormat, kernel: string): string {
  return `${commonSrc}\n${PREAMBLES[format]}\n${kernel}`;
}

function preambleConst(format: WeightFormat, name: string): number {
  const m = new RegExp(`const ${name}: u32 = (\\d+)u;`).exec(PREAMBLES[format]);
  if (m === null) throw new Error(`wgsl/formats/${format.toLowerCase()}.wgsl defines no ${name}`);
  return Number(m[1]);
}

/** Elements one dequant_unit call decodes (read from the preamble, so there is one source of truth). */
export function unitElems(format: WeightFormat): number {
  return preambleConst(format, 'UNIT_ELEMS');
}

/** Bytes of one packed row of k elements; RangeError unless k is a whole number of blocks and units. */
export function packedRowBytes(format: WeightFormat, k: number): number {
  const f = FORMATS[format];
  const unit = unitElems(format);
  if (!Number.isSafeInteger(k) || k <= 0 || k % f.blockElems !== 0 || k % unit !== 0) {
    throw new RangeError(`${format}: a row of ${k} elements is not a whole number of ${Math.max(f.blockElems, unit)}-element blocks`);
  }
  return (k / f.blockElems) * f.blockBytes;
}

/** Packed bytes in a u32 array (zero-padded to whole words), as a weight binding holds them. */
export function packedWords(bytes: Uint8Array): Uint32Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

export interface DequantizeSpec {
  format: WeightFormat;
  /** Elements per row. */
  k: number;
  rows: number;
  /** Decode element by element through dequant() rather than dequant_unit(). */
  single?: boolean;
}

/** The dequantize kernel for one format and shape; bindings: 0 packed weights, 1 f32 out [rows, k]. */
export function dequantizePipeline(device: GPUDevice, s: DequantizeSpec): GPUComputePipeline {
  packedRowBytes(s.format, s.k);
  const label = `dequantize ${s.format} ${s.rows}x${s.k}`;
  const module = device.createShaderModule({ label, code: withFormat(s.format, dequantizeSrc) });
  return device.createComputePipeline({
    label,
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: { K: s.k, ROWS: s.rows, SINGLE: s.single ? 1 : 0 } },
  });
}

/** Invocations the dequantize kernel needs: one per unit. */
export function dequantizeInvocations(s: DequantizeSpec): number {
  return (s.rows * s.k) / unitElems(s.format);
}
