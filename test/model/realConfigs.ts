/**
 * config.json files as released models ship them (transformers 4) and as transformers 5's
 * save_pretrained rewrites them (rope_parameters, dtype, layer_types). Copied from the Hub
 * repositories named; the v5 forms follow qwen2-tiny-hf/config.json in the shared models,
 * written by transformers 5.18.
 */
const LLAMA_3_2_1B_V4 = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
  head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
  mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
};

function toV5(v4: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { rope_theta, rope_scaling, torch_dtype, ...rest } = v4;
  const scaling = (rope_scaling ?? { rope_type: 'default' }) as Record<string, unknown>;
  return { ...rest, dtype: torch_dtype, rope_parameters: { ...scaling, rope_theta }, transformers_version: '5.18.0', ...extra };
}

const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: 'silu',
  hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536, is_llama_config: true, max_position_embeddings: 8192,
  mlp_bias: false, model_type: 'llama', num_attention_heads: 9, num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1,
  rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.40.1', use_cache: true, vocab_size: 49152,
};

const TINYLLAMA_CHAT = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 2048,
  initializer_range: 0.02, intermediate_size: 5632, max_position_embeddings: 2048, model_type: 'llama', num_attention_heads: 32,
  num_hidden_layers: 22, num_key_value_heads: 4, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0,
  tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.35.0', use_cache: true, vocab_size: 32000,
};

const QWEN2_5_0_5B = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
  hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
  model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0,
  sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true,
  use_sliding_window: false, vocab_size: 151936,
};

const MISTRAL_7B_V0_3 = {
  architectures: ['MistralForCausalLM'], attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, head_dim: 128, hidden_act: 'silu',
  hidden_size: 4096, initializer_range: 0.02, intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral',
  num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 1000000.0, sliding_window: null,
  tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.42.0.dev0', use_cache: true, vocab_size: 32768,
};

/** Mistral 7B v0.1: a 4096-token window in a 32768-token context. */
export const MISTRAL_7B_V0_1 = {
  architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096, initializer_range: 0.02,
  intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral', num_attention_heads: 32, num_hidden_layers: 32,
  num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 4096, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', transformers_version: '4.34.0.dev0', use_cache: true, vocab_size: 32000,
};

/** Configs Folio runs, by name; the `v5` ones as transformers 5 re-saves the `v4` ones. */
export const REAL_CONFIGS: Record<string, Record<string, unknown>> = {
  'Llama-3.2-1B (v4)': LLAMA_3_2_1B_V4,
  'Llama-3.2-1B (v5)': toV5(LLAMA_3_2_1B_V4),
  'SmolLM2-135M (v4)': SMOLLM2_135M,
  'SmolLM2-135M (v5)': toV5(SMOLLM2_135M),
  'TinyLlama-1.1B-Chat (v4)': TINYLLAMA_CHAT,
  'Qwen2.5-0.5B (v4)': QWEN2_5_0_5B,
  // transformers 5 writes one attention kind per layer and a null window when it is off.
  'Qwen2.5-0.5B (v5)': toV5(QWEN2_5_0_5B, { sliding_window: null, layer_types: Array(24).fill('full_attention'), pad_token_id: null }),
  'Mistral-7B-v0.3 (v4)': MISTRAL_7B_V0_3,
  'Mistral-7B-v0.3 (v5)': toV5(MISTRAL_7B_V0_3),
};
