import { REFUSABLE_KEYS } from './configRefusals.ts';

/**
 * Every config.json key parseConfig reads: it applies the value, or refuses one it cannot run
 * (naming the key). A test checks this list against what parseConfig touches, and that every
 * known computation-changing key of the Llama family is here.
 */
export const READ_KEYS: ReadonlySet<string> = new Set([
  'model_type',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'vocab_size',
  'max_position_embeddings',
  'rms_norm_eps',
  'tie_word_embeddings',
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'bos_token_id',
  'eos_token_id',
  ...REFUSABLE_KEYS,
]);

/**
 * Keys that cannot change what a forward pass computes: bookkeeping, training-only settings,
 * generation defaults (requests carry their own), and keys transformers itself ignores for
 * these architectures.
 */
export const INERT_KEYS: ReadonlySet<string> = new Set([
  'architectures',
  'transformers_version',
  '_name_or_path',
  'torch_dtype',
  'dtype',
  'use_cache',
  'initializer_range',
  'attention_dropout',
  'pad_token_id',
  // Splits Llama's matmuls into slices in transformers 4; the same sums, only rounded differently.
  'pretraining_tp',
  // nanotron's keys in SmolLM2 configs; transformers' Llama does not read them.
  'is_llama_config',
  'rope_interleaved',
  'tokenizer_class',
  'output_attentions',
  'output_hidden_states',
  'return_dict',
  'use_return_dict',
]);
