// The weight formats Folio reads and writes, as ggml numbers them.
// Facts from ggml.h (enum ggml_type) and ggml-common.h (block structs); gguf-py's
// GGML_QUANT_SIZES lists the same (elements per block, bytes per block).

export type WeightFormat = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q4_K' | 'Q5_K' | 'Q6_K';

export interface FormatInfo {
  name: WeightFormat;
  /** ggml_type id, as a GGUF tensor-info record stores it. */
  ggmlType: number;
  /** Elements one block holds; plain floats are blocks of one. */
  blockElems: number;
  /** Bytes one block takes in a file or a buffer. */
  blockBytes: number;
}

/** Elements in a K-quant super-block (ggml's QK_K). */
export const QK_K = 256;
/** Elements in a legacy block (ggml's QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0). */
export const QK = 32;

const info = (name: WeightFormat, ggmlType: number, blockElems: number, blockBytes: number): FormatInfo =>
  Object.freeze({ name, ggmlType, blockElems, blockBytes });

export const FORMATS: Readonly<Record<WeightFormat, FormatInfo>> = Object.freeze({
  F32: info('F32', 0, 1, 4),
  F16: info('F16', 1, 1, 2),
  Q4_0: info('Q4_0', 2, QK, 2 + QK / 2), // d, 16 bytes of nibbles
  Q4_1: info('Q4_1', 3, QK, 4 + QK / 2), // d, m, nibbles
  // ids 4 and 5 were Q4_2/Q4_3, removed from ggml
  Q5_0: info('Q5_0', 6, QK, 2 + 4 + QK / 2), // d, qh (u32), nibbles
  Q5_1: info('Q5_1', 7, QK, 4 + 4 + QK / 2), // d, m, qh, nibbles
  Q8_0: info('Q8_0', 8, QK, 2 + QK), // d, int8 x32
  Q4_K: info('Q4_K', 12, QK_K, 4 + 12 + QK_K / 2), // d, dmin, 12 scale bytes, nibbles
  Q5_K: info('Q5_K', 13, QK_K, 4 + 12 + QK_K / 8 + QK_K / 2), // + qh[32]
  Q6_K: info('Q6_K', 14, QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2), // ql, qh, int8 scales, d
  BF16: info('BF16', 30, 1, 2),
});

const BY_GGML_TYPE = new Map<number, FormatInfo>(Object.values(FORMATS).map((f) => [f.ggmlType, f]));

/** The format a GGUF tensor of this ggml_type id holds, or undefined for types Folio does not read. */
export function formatOfGgmlType(id: number): FormatInfo | undefined {
  return BY_GGML_TYPE.get(id);
}

/** Number of whole blocks in numElements, or a RangeError naming the format. */
export function blockCount(format: WeightFormat, numElements: number): number {
  const f = FORMATS[format];
  if (f === undefined) throw new RangeError(`unknown weight format ${String(format)}`);
  if (!Number.isSafeInteger(numElements) || numElements < 0 || numElements % f.blockElems !== 0) {
    throw new RangeError(`${format}: ${numElements} elements is not a whole number of ${f.blockElems}-element blocks`);
  }
  return numElements / f.blockElems;
}

/** bytes a row-major tensor of numElements takes (numElements must be a multiple of blockElems; throws RangeError otherwise) */
export function packedBytes(format: WeightFormat, numElements: number): number {
  return blockCount(format, numElements) * FORMATS[format].blockBytes;
}
