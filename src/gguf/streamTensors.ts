import { ModelFormatError } from '../errors.ts';
import type { LoadMeter } from '../model/loadModel.ts';
import { elementIndex, firstNonFinite } from '../model/nonFinite.ts';
import type { PackedTensor } from '../model/weights.ts';
import { dequantize } from '../quant/index.ts';
import type { GgufTensorInfo } from './ggufHeader.ts';
import type { GgufPart } from './ggufParts.ts';
import { unpermuteRopeRowBytes, unpermuteRopeRows } from './ropeOrder.ts';
import { pastTheEnd, type TensorLayout } from './tensorData.ts';

/** A tensor to read, checked against the header and the config before any data is read. */
export interface TensorJob {
  /** Which file of the model holds it. */
  part: number;
  info: GgufTensorInfo;
  layout: TensorLayout;
  /** Its Hugging Face name and row-major shape; null for llama.cpp's rope_freqs (read as values only). */
  hfName: string | null;
  shape: number[];
  /** llama q/k rows, stored in llama.cpp's adjacent-pair RoPE order, go back to rotate-half order. */
  permuted: boolean;
}

export interface StreamedTensors {
  tensors: Map<string, Float32Array>;
  packed: Map<string, PackedTensor>;
  ropeFreqs: Float32Array | null;
  /** Each file's name and SHA-256, for the fingerprint. */
  digests: { name: string; sha256: string }[];
}

/** Values decoded at a time to check a packed weight for NaN and infinity: small next to any tensor. */
const CHECK_VALUES = 2 ** 14;

/**
 * Reads every job's bytes as its file streams past, in file order, one part after another: each
 * tensor is copied out as it goes by (2-D weights kept packed, 1-D ones widened to f32) and the
 * file's other bytes are dropped, so a load holds one chunk and one tensor beyond what it keeps.
 */
export async function streamTensors(parts: GgufPart[], jobs: TensorJob[], headDim: number, meter?: LoadMeter): Promise<StreamedTensors> {
  const out: StreamedTensors = { tensors: new Map(), packed: new Map(), ropeFreqs: null, digests: [] };
  for (const [i, { header, reader }] of parts.entries()) {
    const inFileOrder = jobs.filter((j) => j.part === i).sort((a, b) => a.layout.start - b.layout.start);
    let previous: TensorJob | null = null;
    for (const job of inFileOrder) {
      const { start, size } = job.layout;
      if (start < reader.position) {
        throw new ModelFormatError(header.file, `data (bytes ${start} to ${start + size}) overlaps the data of ${previous!.info.name}, which ends at byte ${reader.position}`, job.info.name);
      }
      const bytes = (await reader.skipTo(start)) ? await reader.read(size) : null;
      if (!bytes) throw pastTheEnd(header, job.info, job.layout, reader.position);
      meter?.hold(bytes.length);
      keep(out, job, bytes, header.file, headDim, meter);
      previous = job;
    }
    out.digests.push({ name: header.file, sha256: await reader.digest() });
  }
  return out;
}

function keep(out: StreamedTensors, job: TensorJob, bytes: Uint8Array, file: string, headDim: number, meter?: LoadMeter): void {
  const { format, elements } = job.layout;
  if (job.shape.length === 2 && job.hfName) {
    const [rows, cols] = job.shape;
    checkFinite(job, bytes, file, meter);
    let kept = bytes;
    if (job.permuted) {
      kept = unpermuteRopeRowBytes(bytes, headDim, bytes.length / rows);
      meter?.hold(kept.length);
      meter?.release(bytes.length);
    }
    out.packed.set(job.hfName, { format, bytes: kept, rows, cols });
    return;
  }
  let values = dequantize(format, bytes, elements);
  meter?.hold(values.byteLength);
  meter?.release(bytes.length);
  const bad = firstNonFinite(values);
  if (bad >= 0) throw nonFinite(file, job, values[bad], bad);
  if (!job.hfName) {
    out.ropeFreqs = values;
    return;
  }
  if (job.permuted) values = unpermuteRopeRows(values, headDim, 1);
  out.tensors.set(job.hfName, values);
}

/** A packed weight decoded a few rows at a time, only to refuse NaN and infinity by element; the values are dropped. */
function checkFinite(job: TensorJob, bytes: Uint8Array, file: string, meter?: LoadMeter): void {
  const [rows, cols] = job.shape;
  const rowBytes = bytes.length / rows;
  const rowsAtOnce = Math.max(1, Math.floor(CHECK_VALUES / cols));
  const scratch = new Float32Array(rowsAtOnce * cols);
  meter?.hold(scratch.byteLength);
  try {
    for (let r = 0; r < rows; r += rowsAtOnce) {
      const n = Math.min(rowsAtOnce, rows - r);
      const values = dequantize(job.layout.format, bytes.subarray(r * rowBytes, (r + n) * rowBytes), n * cols, scratch).subarray(0, n * cols);
      const bad = firstNonFinite(values);
      if (bad >= 0) throw nonFinite(file, job, values[bad], r * cols + bad);
    }
  } finally {
    meter?.release(scratch.byteLength);
  }
}

function nonFinite(file: string, job: TensorJob, value: number, at: number): ModelFormatError {
  return new ModelFormatError(file, `holds ${value} at element ${elementIndex(at, job.shape)}: every weight must be finite`, job.info.name);
}
