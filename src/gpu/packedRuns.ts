/**
 * Weight tensors as the bytes a packed binding holds: runs of stacked tensors in one format,
 * concatenated row after row and zero-padded to whole u32 words (wgsl/formats/common.wgsl), and
 * cut into chunks of whole rows when a run is larger than one storage binding may be.
 */
import { isPacked, type Weight } from '../model/weights.ts';
import { dequantize, FORMATS, type WeightFormat } from '../quant/index.ts';
import { packedRowBytes, unitElems } from './formatKernels.ts';

/**
 * A run not yet copied: its tensors' row-major bytes in order (views, not copies, where the
 * tensor already holds them), so that a chunk copies only its own rows.
 */
export interface RunSource {
  format: WeightFormat;
  rows: number;
  rowBytes: number;
  parts: Uint8Array[];
}

/** Rows row0 .. row0 + rows - 1 of a run: the bytes one buffer (one binding) holds. */
export interface RunChunk {
  format: WeightFormat;
  row0: number;
  rows: number;
  /** The rows' bytes, zero-padded to whole words. */
  words: Uint32Array<ArrayBuffer>;
}

/** Whether the packed products can walk rows of k values in this format unit by unit. */
export function packable(format: WeightFormat, k: number): boolean {
  return k > 0 && k % FORMATS[format].blockElems === 0 && k % unitElems(format) === 0;
}

/** Bytes of one row of k values in `format` (F32: 4k). */
export function rowBytesOf(format: WeightFormat, k: number): number {
  return format === 'F32' ? 4 * k : packedRowBytes(format, k);
}

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Stacked tensors of rows of k values as runs of one format: packed tensors keep their format when
 * the product can walk their rows unit by unit, else (and f32 tensors among packed ones) they
 * become F32 rows. An all-f32 stack is one F32 run.
 */
export function runSources(ts: Weight[], k: number): RunSource[] {
  const formatOf = (t: Weight): WeightFormat => (isPacked(t) && packable(t.format, k) ? t.format : 'F32');
  const runs: RunSource[] = [];
  for (const t of ts) {
    const format = formatOf(t);
    const rows = isPacked(t) ? t.rows : t.length / k;
    const bytes = isPacked(t) ? (format === 'F32' ? bytesOf(dequantize(t.format, t.bytes, t.rows * t.cols)) : t.bytes) : bytesOf(t);
    const last = runs[runs.length - 1];
    if (last?.format === format) {
      last.rows += rows;
      last.parts.push(bytes);
    } else {
      runs.push({ format, rows, rowBytes: rowBytesOf(format, k), parts: [bytes] });
    }
  }
  return runs;
}

/**
 * The largest number of whole rows one buffer of at most `maxBytes` holds, once padded to 16
 * bytes as GpuDevice.storage pads it; 0 when not even one row fits.
 */
export function rowsPerChunk(rowBytes: number, maxBytes: number): number {
  return Math.floor((Math.floor(maxBytes / 16) * 16) / rowBytes);
}

/**
 * The run cut into chunks of at most `perChunk` rows (the last may be shorter), each copied into
 * its own word array as it is yielded, so the peak is one chunk beyond the tensors themselves.
 * Invariant (test/gpu/packedRuns.test.ts): the chunks' bytes, concatenated, are the run's bytes.
 */
export function* runChunks(run: RunSource, perChunk: number): Generator<RunChunk> {
  if (!(perChunk >= 1)) throw new RangeError(`a chunk holds at least one row, got ${perChunk}`);
  let part = 0;
  let at = 0; // byte offset within parts[part]
  for (let row0 = 0; row0 < run.rows; row0 += perChunk) {
    const rows = Math.min(perChunk, run.rows - row0);
    const words = new Uint32Array(Math.ceil((rows * run.rowBytes) / 4));
    const view = new Uint8Array(words.buffer);
    let filled = 0;
    while (filled < rows * run.rowBytes) {
      const src = run.parts[part];
      const n = Math.min(src.length - at, rows * run.rowBytes - filled);
      view.set(src.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (at === src.length) {
        part++;
        at = 0;
      }
    }
    yield { format: run.format, rows, row0, words };
  }
}
