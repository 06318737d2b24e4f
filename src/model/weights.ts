import type { ModelConfig } from './config.ts';

/** Tensor dtypes Folio reads from safetensors. */
export type DType = 'F32' | 'F16' | 'BF16';

export interface Tensor {
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes in `dtype`. */
  bytes: Uint8Array;
}

/** A loaded model: its config and its tensors widened to f32, by Hugging Face name. */
export interface ModelWeights {
  config: ModelConfig;
  tensors: Map<string, Float32Array>;
  /** Identifies these exact weights; salts prefix-cache hashes. */
  fingerprint: string;
}

/** The LM head: its own tensor, or the embedding when tied. */
export function lmHead(w: ModelWeights): Float32Array {
  return w.tensors.get(w.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!;
}
