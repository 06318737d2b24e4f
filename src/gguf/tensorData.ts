import { ModelFormatError } from '../errors.ts';
import { dequantize, formatOfGgmlType, packedBytes, type FormatInfo, type WeightFormat } from '../quant/index.ts';
import type { GgufHeader, GgufTensorInfo } from './ggufHeader.ts';

/** One tensor's data as the file holds it: its format, its packed bytes (a view of the file), its element count. */
export interface TensorBytes {
  format: WeightFormat;
  bytes: Uint8Array;
  elements: number;
}

/** One tensor's values widened to f32 (see tensorBytes for the checks). */
export function tensorValues(bytes: Uint8Array, header: GgufHeader, t: GgufTensorInfo): Float32Array {
  const data = tensorBytes(bytes, header, t);
  return dequantize(data.format, data.bytes, data.elements);
}

/**
 * One tensor's packed bytes, after checking what the header says of it against the file: a type
 * Folio knows, rows that are whole blocks, an aligned offset, data inside the file. The type is
 * read per tensor (never from general.file_type): files mix types.
 */
export function tensorBytes(bytes: Uint8Array, header: GgufHeader, t: GgufTensorInfo): TensorBytes {
  const format = formatOf(header.file, t);
  const fail = (message: string): never => {
    throw new ModelFormatError(header.file, message, t.name);
  };
  if (t.dims.length === 0 || t.dims.some((d) => d < 1)) fail(`has shape [${t.dims.join(', ')}]: every dimension must be at least 1`);
  const n = t.dims.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(n)) fail(`has shape [${t.dims.join(', ')}], which is out of range`);
  if (t.dims[0] % format.blockElems !== 0) {
    fail(`rows of ${t.dims[0]} values are not a whole number of ${format.name} blocks (${format.blockElems} values each)`);
  }
  if (t.offset % header.alignment !== 0) fail(`data offset ${t.offset} is not a multiple of the alignment ${header.alignment}: the data is misaligned`);
  const start = header.dataOffset + t.offset;
  const size = packedBytes(format.name, n);
  if (start + size > bytes.length) {
    fail(`${format.name} data of shape [${t.dims.join(', ')}] needs bytes ${start} to ${start + size}, but the file ends at byte ${bytes.length}: the file is truncated, or the tensor's offset or shape is out of range`);
  }
  return { format: format.name, bytes: bytes.subarray(start, start + size), elements: n };
}

function formatOf(file: string, t: GgufTensorInfo): FormatInfo {
  const format = formatOfGgmlType(t.ggmlType);
  if (!format) {
    // ggml's type ids are small (0..40 today): the readable ones, as the quant room defines them
    const known = Array.from({ length: 64 }, (_, id) => formatOfGgmlType(id)?.name).filter(Boolean).join(', ');
    throw new ModelFormatError(file, `has ggml type ${t.ggmlType}, which Folio cannot read (it reads ${known})`, t.name);
  }
  return format;
}
