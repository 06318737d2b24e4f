import { ConfigError } from '../errors.ts';
import { Fields, isObject } from './configFields.ts';
import { CONFIG_LIMITS as MAX } from './configLimits.ts';
import { refuseUnsupported } from './configRefusals.ts';
import { type Llama3RopeScaling, readRope } from './configRope.ts';

export type { Llama3RopeScaling } from './configRope.ts';

/** The hyper-parameters of a Llama-family model, normalized from a Hugging Face config.json. */
export interface ModelConfig {
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** q, k and v projections carry a bias (Qwen2). */
  qkvBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

function tokenIds(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

const SUPPORTED = new Set(['llama', 'qwen2', 'mistral']);

/**
 * Parses a config.json object; every defect is a ConfigError that names the field. Every size
 * is bounded before anything is allocated from it, and every key that changes the computation
 * is honoured or refused (configKeys.ts lists them).
 */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(raw)) throw new ConfigError(file, 'is not a JSON object');
  const f: Fields = new Fields(raw, file);
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') f.fail('model_type', 'required field is missing');
  if (!SUPPORTED.has(modelType)) f.fail('model_type', `model type ${JSON.stringify(modelType)} is not a Llama-family model`);
  const hiddenSize = f.int('hidden_size', MAX.hidden_size);
  const numHeads = f.int('num_attention_heads', MAX.num_attention_heads);
  const numKvHeads = f.int('num_key_value_heads', MAX.num_attention_heads, numHeads);
  if (numHeads % numKvHeads !== 0) {
    f.fail('num_key_value_heads', `${numHeads} attention heads are not a multiple of ${numKvHeads} KV heads`);
  }
  if (!f.has('head_dim') && hiddenSize % numHeads !== 0) {
    f.fail('head_dim', `is missing, and hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  // transformers 5 (and Qwen3, Gemma, Mistral Nemo) may set a head size other than hidden / heads.
  const headDim = f.int('head_dim', MAX.head_dim, hiddenSize / numHeads);
  if (headDim % 2 !== 0) f.fail('head_dim', `head dimension ${headDim} must be even for RoPE`);
  const numLayers = f.int('num_hidden_layers', MAX.num_hidden_layers);
  const maxPositions = f.int('max_position_embeddings', MAX.max_position_embeddings, 2048);
  refuseUnsupported(f, { modelType, numLayers, maxPositions });
  const rope = readRope(f);
  return {
    modelType,
    hiddenSize,
    intermediateSize: f.int('intermediate_size', MAX.intermediate_size),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: f.int('vocab_size', MAX.vocab_size),
    maxPositions,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    rmsNormEps: f.num('rms_norm_eps', 1e-6, 1),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    // Qwen2 has q/k/v biases in code, whatever the config says; Llama's attention_bias is refused above.
    qkvBias: modelType === 'qwen2',
    bosTokenId: typeof raw.bos_token_id === 'number' ? raw.bos_token_id : null,
    eosTokenIds: tokenIds(raw.eos_token_id),
  };
}

/** The Hugging Face tensor names and shapes ([out, in], row-major) a config implies. */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + 'input_layernorm.weight', [c.hiddenSize]);
    m.set(p + 'self_attn.q_proj.weight', [q, c.hiddenSize]);
    m.set(p + 'self_attn.k_proj.weight', [kv, c.hiddenSize]);
    m.set(p + 'self_attn.v_proj.weight', [kv, c.hiddenSize]);
    if (c.qkvBias) {
      m.set(p + 'self_attn.q_proj.bias', [q]);
      m.set(p + 'self_attn.k_proj.bias', [kv]);
      m.set(p + 'self_attn.v_proj.bias', [kv]);
    }
    m.set(p + 'self_attn.o_proj.weight', [c.hiddenSize, q]);
    m.set(p + 'post_attention_layernorm.weight', [c.hiddenSize]);
    m.set(p + 'mlp.gate_proj.weight', [c.intermediateSize, c.hiddenSize]);
    m.set(p + 'mlp.up_proj.weight', [c.intermediateSize, c.hiddenSize]);
    m.set(p + 'mlp.down_proj.weight', [c.hiddenSize, c.intermediateSize]);
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}
