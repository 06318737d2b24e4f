/**
 * The largest value Folio accepts for each size in config.json, checked before anything is
 * built from it: a config is data we did not write, and `num_hidden_layers: 1e9` must be a
 * ConfigError at once, not a minute of work and a RangeError. Each is several times the
 * largest released model's (Llama 3.1 405B: hidden 16384, 126 layers, FFN 53248, 128 heads;
 * vocabularies up to 262144; Llama 4 Scout's 10M context).
 */
export const CONFIG_LIMITS = {
  hidden_size: 65536,
  intermediate_size: 2 ** 18,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  head_dim: 1024,
  vocab_size: 2 ** 21,
  max_position_embeddings: 2 ** 24,
} as const;
