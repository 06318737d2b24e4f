import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { type ModelConfig, parseConfig } from '../../src/model/config.ts';
import { INERT_KEYS, READ_KEYS } from '../../src/model/configKeys.ts';
import { REAL_CONFIGS } from './realConfigs.ts';
import { tinyConfig } from './synthetic.ts';

const qwen2 = (o: Record<string, unknown> = {}) => tinyConfig({ model_type: 'qwen2', ...o });

/**
 * The config keys of transformers' LlamaConfig, MistralConfig and Qwen2Config (4.x and 5.x)
 * that change what a forward pass computes, plus keys of neighbouring architectures that a
 * mislabelled config may carry; each with a value that changes the computation, what Folio
 * must do with it, and the config it is tried on.
 */
const COMPUTATION_KEYS: { key: string; value: unknown; outcome: 'honoured' | 'refused'; field?: string; base?: Record<string, unknown> }[] = [
  { key: 'model_type', value: 'qwen2', outcome: 'honoured' },
  { key: 'hidden_size', value: 16, outcome: 'honoured' },
  { key: 'intermediate_size', value: 24, outcome: 'honoured' },
  { key: 'num_hidden_layers', value: 3, outcome: 'honoured' },
  { key: 'num_attention_heads', value: 4, outcome: 'honoured' },
  { key: 'num_key_value_heads', value: 2, outcome: 'honoured' },
  { key: 'head_dim', value: 8, outcome: 'honoured' },
  { key: 'vocab_size', value: 32, outcome: 'honoured' },
  { key: 'max_position_embeddings', value: 128, outcome: 'honoured' },
  { key: 'rms_norm_eps', value: 1e-6, outcome: 'honoured' },
  { key: 'tie_word_embeddings', value: true, outcome: 'honoured' },
  { key: 'rope_theta', value: 500000, outcome: 'honoured' },
  { key: 'rope_scaling', value: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, outcome: 'honoured' },
  { key: 'rope_scaling', value: { type: 'yarn', factor: 4 }, outcome: 'refused', field: 'rope_scaling.type' },
  { key: 'rope_parameters', value: { rope_type: 'default', rope_theta: 500000 }, outcome: 'honoured', base: tinyConfig({ rope_theta: undefined }) },
  { key: 'rope_parameters', value: { rope_type: 'longrope', rope_theta: 10000 }, outcome: 'refused', field: 'rope_parameters.rope_type' },
  { key: 'eos_token_id', value: [2, 3], outcome: 'honoured' },
  { key: 'bos_token_id', value: 5, outcome: 'honoured' },
  { key: 'hidden_act', value: 'gelu', outcome: 'refused' },
  { key: 'hidden_activation', value: 'gelu_pytorch_tanh', outcome: 'refused' },
  { key: 'attention_bias', value: true, outcome: 'refused' },
  { key: 'mlp_bias', value: true, outcome: 'refused' },
  { key: 'partial_rotary_factor', value: 0.5, outcome: 'refused' },
  { key: 'sliding_window', value: 16, outcome: 'refused' },
  { key: 'sliding_window', value: 16, outcome: 'refused', base: tinyConfig({ model_type: 'mistral' }) },
  { key: 'use_sliding_window', value: true, outcome: 'refused', field: 'sliding_window', base: qwen2({ sliding_window: 16, max_window_layers: 0 }) },
  { key: 'max_window_layers', value: 0, outcome: 'refused', field: 'sliding_window', base: qwen2({ use_sliding_window: true, sliding_window: 16, max_window_layers: 2 }) },
  { key: 'layer_types', value: ['full_attention', 'sliding_attention'], outcome: 'refused', field: 'sliding_window', base: qwen2({ use_sliding_window: true, sliding_window: 16 }) },
  { key: 'layer_types', value: ['full_attention', 'chunked_attention'], outcome: 'refused' },
  { key: 'attn_logit_softcapping', value: 50, outcome: 'refused' },
  { key: 'final_logit_softcapping', value: 30, outcome: 'refused' },
  { key: 'attention_chunk_size', value: 8192, outcome: 'refused' },
  { key: 'quantization_config', value: { quant_method: 'gptq', bits: 4 }, outcome: 'refused' },
];

function outcome(raw: Record<string, unknown>): ModelConfig | ConfigError {
  try {
    return parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** The top-level keys parseConfig looks at while parsing `raw`. */
function keysRead(raw: Record<string, unknown>): Set<string> {
  const seen = new Set<string>();
  const spy = new Proxy(raw, {
    get: (t, k) => (typeof k === 'string' && seen.add(k), t[k as string]),
    has: (t, k) => (typeof k === 'string' && seen.add(k), k in t),
  });
  outcome(spy);
  return seen;
}

describe('every config key that changes the computation is honoured or refused, never ignored', () => {
  for (const { key, value, outcome: expected, field, base = tinyConfig() } of COMPUTATION_KEYS) {
    it(`${key}: ${JSON.stringify(value)} is ${expected}`, () => {
      expect(READ_KEYS.has(key), `${key} is not in READ_KEYS`).toBe(true);
      const before = outcome(base);
      expect(before).not.toBeInstanceOf(ConfigError);
      const after = outcome({ ...base, [key]: value });
      if (expected === 'refused') {
        expect(after).toBeInstanceOf(ConfigError);
        expect((after as ConfigError).field).toBe(field ?? key);
      } else {
        expect(after).not.toBeInstanceOf(ConfigError);
        expect(after).not.toEqual(before);
      }
    });
  }

  it('READ_KEYS lists exactly what parseConfig looks at, over every config form in these tests', () => {
    const forms = [
      ...Object.values(REAL_CONFIGS),
      ...COMPUTATION_KEYS.map(({ key, value, base = tinyConfig() }) => ({ ...base, [key]: value })),
    ];
    const read = new Set(forms.flatMap((raw) => [...keysRead(raw)]));
    expect([...read].filter((k) => !READ_KEYS.has(k))).toEqual([]);
    expect([...READ_KEYS].filter((k) => !read.has(k))).toEqual([]);
  });

  it('every key of real configs, as transformers 4 and 5 write them, is read or known to be inert', () => {
    expect([...READ_KEYS].filter((k) => INERT_KEYS.has(k))).toEqual([]);
    for (const [name, raw] of Object.entries(REAL_CONFIGS)) {
      const unknown = Object.keys(raw).filter((k) => !READ_KEYS.has(k) && !INERT_KEYS.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('parses each real config to its published shape', () => {
    const c = Object.fromEntries(Object.entries(REAL_CONFIGS).map(([name, raw]) => [name, parseConfig(raw)]));
    for (const v of ['v4', 'v5']) {
      expect(c[`SmolLM2-135M (${v})`]).toMatchObject({ hiddenSize: 576, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, ropeTheta: 100000, tieWordEmbeddings: true });
      expect(c[`Qwen2.5-0.5B (${v})`]).toMatchObject({ headDim: 64, ropeTheta: 1e6, qkvBias: true, vocabSize: 151936, maxPositions: 32768 });
      expect(c[`Mistral-7B-v0.3 (${v})`]).toMatchObject({ headDim: 128, ropeTheta: 1e6, numKvHeads: 8, tieWordEmbeddings: false });
      expect(c[`Llama-3.2-1B (${v})`]).toMatchObject({ headDim: 64, ropeTheta: 500000, ropeScaling: { factor: 32 } });
    }
    expect(c['TinyLlama-1.1B-Chat (v4)']).toMatchObject({ numLayers: 22, numKvHeads: 4, ropeTheta: 10000, ropeScaling: null });
  });
});
