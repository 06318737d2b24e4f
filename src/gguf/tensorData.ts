import { ModelFormatError } from '../errors.ts';
import { formatOfGgmlType, packedBytes, type FormatInfo, type WeightFormat } from '../quant/index.ts';
import type { GgufHeader, GgufTensorInfo } from './ggufHeader.ts';

/** Where one tensor's data lies in its file, and how to read it. */
export interface TensorLayout {
  format: WeightFormat;
  /** File offset of its first byte. */
  start: number;
  /** Packed bytes. */
  size: number;
  elements: number;
}

/**
 * One tensor's place in its file, after checking what the header says of it: a type Folio
 * knows, rows that are whole blocks, an aligned offset, and (when the file's size is known
 * before its data is read) data inside the file. The type is read per tensor (never from
 * general.file_type): files mix types.
 */
export function tensorLayout(header: GgufHeader, t: GgufTensorInfo, fileSize: number | null): TensorLayout {
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
  const layout = { format: format.name, start: header.dataOffset + t.offset, size: packedBytes(format.name, n), elements: n };
  if (fileSize !== null && layout.start + layout.size > fileSize) throw pastTheEnd(header, t, layout, fileSize);
  return layout;
}

/** The error for data that runs past the end of its file (found from the header, or as the data streams). */
export function pastTheEnd(header: GgufHeader, t: GgufTensorInfo, layout: TensorLayout, fileSize: number): ModelFormatError {
  const { start, size, format } = layout;
  return new ModelFormatError(
    header.file,
    `${format} data of shape [${t.dims.join(', ')}] needs bytes ${start} to ${start + size}, but the file ends at byte ${fileSize}: the file is truncated, or the tensor's offset or shape is out of range`,
    t.name,
  );
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
