import type { Tensor } from '../weights.ts';
import { f32Tensor } from '../safetensorsWriter.ts';
import type { Llama2cCheckpoint } from './checkpoint.ts';

/**
 * llama2.c rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face Llama rotates halves
 * (x[i], x[i + d/2]). Reordering the rows of wq and wk within each head makes the two agree,
 * as transformers' convert_llama_weights_to_hf.py does: new row j < d/2 comes from old row 2j,
 * new row d/2 + j from old row 2j + 1.
 */
export function permuteForRotateHalf(w: Float32Array, heads: number, headSize: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < headSize; j++) {
      const src = h * headSize + (j < half ? 2 * j : 2 * (j - half) + 1);
      out.set(w.subarray(src * cols, (src + 1) * cols), (h * headSize + j) * cols);
    }
  }
  return out;
}

/** The Hugging Face config.json of a converted checkpoint. */
export function huggingFaceConfig(ckpt: Llama2cCheckpoint): Record<string, unknown> {
  const h = ckpt.header;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rope_theta: 10000.0,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    tie_word_embeddings: h.sharedClassifier,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/** The checkpoint's tensors under Hugging Face names, in file order. */
export function huggingFaceTensors(ckpt: Llama2cCheckpoint): Map<string, Tensor> {
  const h = ckpt.header;
  const headSize = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headSize;
  const m = new Map<string, Tensor>();
  const layer = (all: Float32Array, l: number, size: number) => all.subarray(l * size, (l + 1) * size);
  m.set('model.embed_tokens.weight', f32Tensor(ckpt.tokenEmbedding, [h.vocabSize, h.dim]));
  for (let l = 0; l < h.nLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + 'input_layernorm.weight', f32Tensor(layer(ckpt.rmsAtt, l, h.dim), [h.dim]));
    m.set(p + 'self_attn.q_proj.weight', f32Tensor(permuteForRotateHalf(layer(ckpt.wq, l, h.dim * h.dim), h.nHeads, headSize, h.dim), [h.dim, h.dim]));
    m.set(p + 'self_attn.k_proj.weight', f32Tensor(permuteForRotateHalf(layer(ckpt.wk, l, kvDim * h.dim), h.nKvHeads, headSize, h.dim), [kvDim, h.dim]));
    m.set(p + 'self_attn.v_proj.weight', f32Tensor(layer(ckpt.wv, l, kvDim * h.dim), [kvDim, h.dim]));
    m.set(p + 'self_attn.o_proj.weight', f32Tensor(layer(ckpt.wo, l, h.dim * h.dim), [h.dim, h.dim]));
    m.set(p + 'post_attention_layernorm.weight', f32Tensor(layer(ckpt.rmsFfn, l, h.dim), [h.dim]));
    m.set(p + 'mlp.gate_proj.weight', f32Tensor(layer(ckpt.w1, l, h.hiddenDim * h.dim), [h.hiddenDim, h.dim]));
    m.set(p + 'mlp.up_proj.weight', f32Tensor(layer(ckpt.w3, l, h.hiddenDim * h.dim), [h.hiddenDim, h.dim]));
    m.set(p + 'mlp.down_proj.weight', f32Tensor(layer(ckpt.w2, l, h.dim * h.hiddenDim), [h.dim, h.hiddenDim]));
  }
  m.set('model.norm.weight', f32Tensor(ckpt.rmsFinal, [h.dim]));
  if (ckpt.classifier) m.set('lm_head.weight', f32Tensor(ckpt.classifier, [h.vocabSize, h.dim]));
  return m;
}
