import { parseGgufShardFilename } from '@huggingface/gguf';
import { ModelFormatError } from '../errors.ts';
import type { LoadMeter } from '../model/loadModel.ts';
import { fileStream, type ModelSource } from '../model/ModelSource.ts';
import { ChunkReader } from './ChunkReader.ts';
import { type GgufHeader, readGgufHeaderFrom } from './ggufHeader.ts';
import { Metadata } from './Metadata.ts';

/** One file of a GGUF model: its header, and a reader positioned at its start (the data not yet read). */
export interface GgufPart {
  header: GgufHeader;
  reader: ChunkReader;
  /** The file's size when the source knows it before the data arrives. */
  size: number | null;
}

/** gguf-split's limit: split.no and split.count are u16. */
const MAX_PARTS = 65535;

/**
 * Every file of the model `file` names: llama.cpp's gguf-split writes a model as
 * `{prefix}-00001-of-0000N.gguf` ... `{prefix}-0000N-of-0000N.gguf`, and any part's name names
 * them all. Any other name is a single file.
 */
export function partNames(file: string): string[] {
  const m = parseGgufShardFilename(file);
  if (!m) return [file];
  const [no, count] = [Number(m.shard), Number(m.total)];
  if (count < 1 || no < 1 || no > count) throw new ModelFormatError(file, `names part ${no} of ${count}, which no split model has`);
  return Array.from({ length: count }, (_, i) => `${m.prefix}-${String(i + 1).padStart(5, '0')}-of-${m.total}.gguf`);
}

/**
 * Opens every part in order and reads its header (each part has one; its tensors' offsets are
 * from its own data section). The readers stay open, positioned before the data, so nothing of
 * the data is read before every header is checked. A part the source lacks is named.
 */
export async function openParts(source: ModelSource, names: string[], meter?: LoadMeter): Promise<GgufPart[]> {
  const parts: GgufPart[] = [];
  const readers: ChunkReader[] = [];
  try {
    for (const [i, name] of names.entries()) {
      if (names.length > 1 && source.has && !(await source.has(name))) {
        throw new ModelFormatError(name, `is missing from ${source.describe()}: it is part ${i + 1} of the ${names.length} files of a split model`);
      }
      const stream = await fileStream(source, name);
      const reader = new ChunkReader(stream.chunks, meter);
      readers.push(reader);
      parts.push({ header: await readGgufHeaderFrom(reader, name), reader, size: stream.size });
    }
    checkSplitKeys(parts);
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
  return parts;
}

export async function closeParts(parts: GgufPart[]): Promise<void> {
  await Promise.all(parts.map((p) => p.reader.close()));
}

/**
 * What each part says of the split against what the names say: split.count equal to the number
 * of files, split.no its own place, split.tensors.count (in the first part) the tensors of all
 * parts together, and no tensor in two parts. A single file that says it is part of a split is
 * refused: the other parts would be ignored.
 */
function checkSplitKeys(parts: GgufPart[]): void {
  const n = parts.length;
  const seen = new Map<string, string>();
  for (const [i, { header }] of parts.entries()) {
    const m = new Metadata(header.metadata, header.file);
    const count = m.has('split.count') ? m.int('split.count', MAX_PARTS) : null;
    if (n === 1) {
      if (count !== null && count > 1) {
        throw new ModelFormatError(header.file, `says it is one of ${count} files of a split model (split.count), but its name is not gguf-split's (-00001-of-${String(count).padStart(5, '0')}.gguf), so the other parts cannot be found`);
      }
    } else {
      if (count === null) throw new ModelFormatError(header.file, `has no split.count, but its name makes it part ${i + 1} of ${n}`);
      if (count !== n) throw new ModelFormatError(header.file, `says the model is split into ${count} files (split.count), but the file names say ${n}`);
      const no = m.int('split.no', MAX_PARTS - 1, undefined, 0);
      if (no !== i) throw new ModelFormatError(header.file, `says it is part ${no + 1} (split.no ${no}), but its name makes it part ${i + 1}`);
    }
    for (const t of header.tensors) {
      const other = seen.get(t.name);
      if (other !== undefined) throw new ModelFormatError(header.file, `is also in ${other}: a tensor belongs to one part only`, t.name);
      seen.set(t.name, header.file);
    }
  }
  const first = new Metadata(parts[0].header.metadata, parts[0].header.file);
  if (n > 1 && first.has('split.tensors.count')) {
    const declared = first.int('split.tensors.count', Number.MAX_SAFE_INTEGER, undefined, 0);
    if (declared !== seen.size) {
      throw new ModelFormatError(parts[0].header.file, `says the split model has ${declared} tensors (split.tensors.count), but its ${n} parts hold ${seen.size}`);
    }
  }
}
