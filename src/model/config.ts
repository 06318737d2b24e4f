import { ConfigError } from '../errors.ts';

/** llama3-style frequency scaling of RoPE (Llama 3.1 / 3.2). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

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

type Json = Record<string, unknown>;

function int(cfg: Json, file: string, field: string, fallback?: number): number {
  const v = cfg[field] ?? fallback;
  if (v === undefined) throw new ConfigError(file, 'required field is missing', field);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(file, `must be a positive integer, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

function num(cfg: Json, file: string, field: string, fallback: number): number {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(file, `must be a positive number, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

function tokenIds(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function ropeScaling(cfg: Json, file: string): Llama3RopeScaling | null {
  const rs = cfg.rope_scaling;
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== 'object') throw new ConfigError(file, 'must be an object or null', 'rope_scaling');
  const r = rs as Json;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new ConfigError(file, `rope type ${JSON.stringify(type)} is not supported (only llama3)`, 'rope_scaling');
  }
  return {
    type: 'llama3',
    factor: num(r, file, 'factor', NaN),
    lowFreqFactor: num(r, file, 'low_freq_factor', 1),
    highFreqFactor: num(r, file, 'high_freq_factor', 4),
    originalMaxPositions: int(r, file, 'original_max_position_embeddings', 8192),
  };
}

const SUPPORTED = new Set(['llama', 'qwen2', 'mistral']);

/** Parses a config.json object; every defect is a ConfigError that names the field. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, 'is not a JSON object');
  }
  const cfg = raw as Json;
  const modelType = cfg.model_type;
  if (typeof modelType !== 'string') throw new ConfigError(file, 'required field is missing', 'model_type');
  if (!SUPPORTED.has(modelType)) {
    throw new ConfigError(file, `model type ${JSON.stringify(modelType)} is not a Llama-family model`, 'model_type');
  }
  const hiddenSize = int(cfg, file, 'hidden_size');
  const numHeads = int(cfg, file, 'num_attention_heads');
  const numKvHeads = int(cfg, file, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(file, `${numHeads} attention heads are not a multiple of ${numKvHeads} KV heads`, 'num_key_value_heads');
  }
  const headDim = int(cfg, file, 'head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new ConfigError(file, `head dimension ${headDim} must be even for RoPE`, 'head_dim');
  return {
    modelType,
    hiddenSize,
    intermediateSize: int(cfg, file, 'intermediate_size'),
    numLayers: int(cfg, file, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int(cfg, file, 'vocab_size'),
    maxPositions: int(cfg, file, 'max_position_embeddings', 2048),
    ropeTheta: num(cfg, file, 'rope_theta', 10000),
    ropeScaling: ropeScaling(cfg, file),
    rmsNormEps: num(cfg, file, 'rms_norm_eps', 1e-6),
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    qkvBias: modelType === 'qwen2' || cfg.attention_bias === true,
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: tokenIds(cfg.eos_token_id),
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
