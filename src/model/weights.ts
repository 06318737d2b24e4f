import type { WeightFormat } from '../quant/formats.ts';
import type { ModelConfig } from './config.ts';

/** Tensor dtypes Folio reads from safetensors. */
export type DType = 'F32' | 'F16' | 'BF16';

export interface Tensor {
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes in `dtype`. */
  bytes: Uint8Array;
}

/**
 * A 2-D weight [rows, cols] kept in its file's format: `rows` packed rows of `cols` values back to
 * back, each a whole number of the format's blocks, bytes exactly as ggml lays them out.
 */
export interface PackedTensor {
  format: WeightFormat;
  bytes: Uint8Array;
  rows: number;
  cols: number;
}

/** A weight as a backend receives it: f32 values, or packed rows. */
export type Weight = Float32Array | PackedTensor;

/**
 * A loaded model: its config and its tensors by Hugging Face name. 1-D tensors (norms, biases)
 * are always f32 in `tensors`; a 2-D weight is in exactly one of `tensors` (f32: safetensors)
 * or `packed` (GGUF: the file's bytes). The packed ones live in a map of their own so that code
 * reading `tensors` keeps seeing Float32Arrays only.
 */
export interface ModelWeights {
  config: ModelConfig;
  tensors: Map<string, Float32Array>;
  packed?: Map<string, PackedTensor>;
  /** Identifies these exact weights; salts prefix-cache hashes. */
  fingerprint: string;
}

export function isPacked(w: Weight): w is PackedTensor {
  return !(w instanceof Float32Array);
}

/** A tensor by name, packed or f32; undefined when the model has neither. */
export function weightOf(w: ModelWeights, name: string): Weight | undefined {
  return w.packed?.get(name) ?? w.tensors.get(name);
}

/** The LM head's tensor name: its own, or the embedding's when tied. */
export function lmHeadName(w: ModelWeights): string {
  return w.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** The LM head of an all-f32 model (see lmHeadName and weightOf for packed ones). */
export function lmHead(w: ModelWeights): Float32Array {
  return w.tensors.get(lmHeadName(w))!;
}
