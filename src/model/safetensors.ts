import { ModelFormatError } from '../errors.ts';
import { DTYPE_SIZE, isDType } from './dtype.ts';
import type { Tensor } from './weights.ts';

/** One parsed safetensors file: tensors are views into the file's buffer, never copies. */
export interface SafetensorsFile {
  file: string;
  metadata: Record<string, string> | null;
  tensors: Map<string, Tensor>;
}

interface Entry {
  name: string;
  tensor: Tensor;
  begin: number;
  end: number;
}

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a safetensors buffer: an 8-byte little-endian header length, a JSON header of
 * {name: {dtype, shape, data_offsets: [begin, end]}} (offsets relative to the data section),
 * then the data. Every defect is a ModelFormatError naming `file` and, where one is to
 * blame, the tensor.
 */
export function parseSafetensors(buffer: Uint8Array, file: string): SafetensorsFile {
  const header = readHeader(buffer, file);
  const dataStart = 8 + header.length;
  const dataLength = buffer.byteLength - dataStart;
  const json = decodeHeader(header.bytes, file);

  let metadata: Record<string, string> | null = null;
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = readMetadata(raw, file);
      continue;
    }
    const { dtype, shape, begin, end } = readEntry(raw, file, name);
    if (end > dataLength) {
      throw new ModelFormatError(
        file,
        `data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes): ` +
          'the file is truncated or the offsets are wrong',
        name,
      );
    }
    const bytes = buffer.subarray(dataStart + begin, dataStart + end);
    entries.push({ name, begin, end, tensor: { dtype, shape, bytes } });
  }
  checkOverlaps(entries, file);
  return { file, metadata, tensors: new Map(entries.map((e) => [e.name, e.tensor])) };
}

function readHeader(buffer: Uint8Array, file: string): { length: number; bytes: Uint8Array } {
  if (buffer.byteLength < 8) {
    throw new ModelFormatError(file, `truncated: ${buffer.byteLength} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(buffer.byteLength - 8)) {
    throw new ModelFormatError(
      file,
      `header length ${length} runs past the end of the file (${buffer.byteLength} bytes): truncated or not a safetensors file`,
    );
  }
  const n = Number(length);
  return { length: n, bytes: buffer.subarray(8, 8 + n) };
}

function decodeHeader(bytes: Uint8Array, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ModelFormatError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(file, 'header is not a JSON object');
  }
  return json as Record<string, unknown>;
}

function readMetadata(raw: unknown, file: string): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(file, '__metadata__ is not an object');
  }
  // Writers put only strings here; anything else is not ours to interpret, so it is dropped.
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

interface EntryLayout {
  dtype: Tensor['dtype'];
  shape: number[];
  begin: number;
  end: number;
}

function readEntry(raw: unknown, file: string, name: string): EntryLayout {
  const fail: (message: string) => never = (message) => {
    throw new ModelFormatError(file, message, name);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (!isDType(dtype)) {
    fail(`dtype ${JSON.stringify(dtype)} is not supported (Folio reads F32, F16 and BF16)`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    fail(`shape ${JSON.stringify(shape)} is not an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
    fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`data_offsets [${begin}, ${end}] begin after they end`);
  const dims = shape as number[];
  const expected = dims.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
  if (end - begin !== expected) {
    fail(`holds ${end - begin} bytes but ${dtype} [${dims.join(', ')}] needs ${expected}`);
  }
  return { dtype, shape: dims, begin, end };
}

/** Two tensors may not share bytes: a writer bug that would silently alias weights. */
function checkOverlaps(entries: Entry[], file: string): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.begin < prev.end) {
      throw new ModelFormatError(
        file,
        `data_offsets [${cur.begin}, ${cur.end}] overlap those of ${prev.name} [${prev.begin}, ${prev.end}]`,
        cur.name,
      );
    }
  }
}
