import { gguf, type MetadataValue } from '@huggingface/gguf';
import { ConfigError, ModelFormatError } from '../errors.ts';
import type { ChunkReader } from './ChunkReader.ts';
import { memoryFetch } from './memoryFetch.ts';

/** One tensor as the header describes it; nothing of its data is read yet. */
export interface GgufTensorInfo {
  name: string;
  /** ggml's ne: innermost (contiguous) dimension first, the reverse of Hugging Face's shape. */
  dims: number[];
  ggmlType: number;
  /** Bytes from the start of the data section. */
  offset: number;
}

export interface GgufHeader {
  /** For messages: the file's name. */
  file: string;
  version: number;
  metadata: Record<string, MetadataValue>;
  tensors: GgufTensorInfo[];
  /** Where the data section starts in the file (the header, padded to the alignment). */
  dataOffset: number;
  alignment: number;
}

/** gguf-py and llama.cpp pad the data section and every tensor to this unless general.alignment says otherwise. */
export const DEFAULT_ALIGNMENT = 32;

/**
 * Parses a GGUF header with the ecosystem's parser (@huggingface/gguf) over the file's bytes in
 * memory. Whatever it cannot read becomes a ModelFormatError naming the file (and the tensor,
 * where the parser names one).
 */
export async function readGgufHeader(bytes: Uint8Array, file: string): Promise<GgufHeader> {
  checkMagicAndVersion(bytes, file);
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    // The URL is only a label for the parser: memoryFetch serves every range, nothing is fetched.
    parsed = await gguf(`https://folio.invalid/${encodeURIComponent(file)}`, { fetch: memoryFetch(bytes) });
  } catch (e) {
    const message = (e as Error).message;
    throw new ModelFormatError(file, describeParseError(e as Error, bytes.length), /^Tensor "([^"]+)"/.exec(message)?.[1]);
  }
  // The parser reads its buffer in whole 2 MB chunks padded with zeros, so a header cut short
  // parses (as zeros) instead of failing: where it ended is checked against the file.
  const headerEnd = parsed.tensorInfoByteRange[1];
  if (headerEnd > bytes.length) throw new ModelFormatError(file, `the header is truncated: it runs to byte ${headerEnd}, but the file ends at byte ${bytes.length}`);
  const metadata = parsed.metadata as Record<string, MetadataValue>;
  const alignment = readAlignment(metadata, file);
  const seen = new Set<string>();
  const tensors = parsed.tensorInfos.map((t) => {
    if (seen.has(t.name)) throw new ModelFormatError(file, 'appears twice in the header', t.name);
    seen.add(t.name);
    return { name: t.name, dims: t.shape.map((d) => safe(d, file, t.name, 'a dimension')), ggmlType: t.dtype, offset: safe(t.offset, file, t.name, 'the data offset') };
  });
  return { file, version: Number(parsed.metadata.version), metadata, tensors, dataOffset: Number(parsed.tensorDataOffset), alignment };
}

/** Bytes first read for a header; most headers (vocabulary and merges included) fit in a few MiB. */
const FIRST_HEADER_READ = 2 ** 16;
/** A header larger than this is refused (its error stands): a guard against reading a whole file as a header. */
const MAX_HEADER_READ = 2 ** 26;

/**
 * A GGUF header read from the front of a stream without consuming it: a prefix of the file is
 * parsed, and parsed again from a prefix four times longer while it is too short for the header
 * (the header's size is known only once it is parsed). The prefix is dropped once parsed.
 */
export async function readGgufHeaderFrom(reader: ChunkReader, file: string): Promise<GgufHeader> {
  for (let want = FIRST_HEADER_READ; ; want *= 4) {
    const prefix = await reader.peek(want);
    checkMagicAndVersion(prefix, file);
    try {
      return await readGgufHeader(prefix, file);
    } catch (e) {
      // A prefix shorter than asked for is the whole file: what it says is final.
      if (prefix.length < want || want >= MAX_HEADER_READ) throw e;
    }
  }
}

/**
 * The first 8 bytes, checked here so that each defect gets its own message: llama.cpp reads
 * only versions 2 and 3, and only little-endian files hold data Folio can read as is (a
 * big-endian file's version reads as a multiple of 65536 here).
 */
function checkMagicAndVersion(bytes: Uint8Array, file: string): void {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'GGUF') throw new ModelFormatError(file, `does not start with the GGUF magic "GGUF" (found ${JSON.stringify(magic)})`);
  if (bytes.length < 8) throw new ModelFormatError(file, `the header is truncated: the file ends at byte ${bytes.length}, before its version`);
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if ((version & 0xffff) === 0) throw new ModelFormatError(file, 'is a big-endian GGUF file; Folio reads little-endian files only');
  if (version !== 2 && version !== 3) throw new ModelFormatError(file, `is GGUF version ${version}; Folio reads versions 2 and 3 (as llama.cpp does)`);
}

function describeParseError(e: Error, size: number): string {
  // A header cut short: the parser's DataView reads run off the end, or it gives up asking for more.
  if (e instanceof RangeError || /maximum chunk fetches|Offset is outside/i.test(e.message)) {
    return `the header is truncated: the file ends at byte ${size}, inside its metadata or tensor list (${e.message})`;
  }
  return `is not a readable GGUF header (${e.message})`;
}

function readAlignment(metadata: Record<string, MetadataValue>, file: string): number {
  const raw = metadata['general.alignment'];
  if (raw === undefined) return DEFAULT_ALIGNMENT;
  const a = typeof raw === 'bigint' ? Number(raw) : raw;
  // ggml requires a power of two: offsets are padded with GGML_PAD, a bit mask.
  if (typeof a !== 'number' || !Number.isInteger(a) || a < 1 || (a & (a - 1)) !== 0) {
    throw new ConfigError(file, `must be a power of two, got ${String(raw)}`, 'general.alignment');
  }
  return a;
}

function safe(v: bigint, file: string, tensor: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError(file, `${what} ${v} is out of range`, tensor);
  return Number(v);
}
