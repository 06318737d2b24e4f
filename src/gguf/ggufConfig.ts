import type { ModelConfig } from '../model/config.ts';
import { CONFIG_LIMITS as MAX } from '../model/configLimits.ts';
import type { Metadata } from './Metadata.ts';

/** The architectures Folio runs, as llama.cpp names them in general.architecture. */
export const ARCHITECTURES = ['llama', 'qwen2'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * Keys (after `{arch}.`) that change the computation in ways Folio does not implement: refused
 * when present rather than ignored. llama.cpp writes them for relatives that share an
 * architecture name (Mixtral is `llama` with experts) or for other architectures' tricks.
 */
const UNIMPLEMENTED: Readonly<Record<string, string>> = {
  expert_count: 'a mixture of experts',
  'attention.sliding_window': 'sliding-window attention',
  'attention.clamp_kqv': 'clamping of q, k and v',
  attn_logit_softcapping: 'soft-capping of attention scores',
  final_logit_softcapping: 'soft-capping of the logits',
  logit_scale: 'scaling of the logits',
  embedding_scale: 'scaling of the embeddings',
  residual_scale: 'scaling of the residuals',
  'attention.scale': 'a custom attention scale',
  'rope.scale_linear': 'linear RoPE scaling',
};

/** general.architecture, refused by name unless Folio runs it. */
export function architectureOf(m: Metadata): Architecture {
  const arch = m.string('general.architecture');
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    m.fail('general.architecture', `architecture ${JSON.stringify(arch)} is not implemented (Folio runs ${ARCHITECTURES.join(' and ')})`);
  }
  return arch as Architecture;
}

/** What the config takes from outside the {arch}.* keys. */
export interface FromTensorsAndTokenizer {
  /** token_embd's rows: what the model computes with. */
  vocabSize: number;
  /** output.weight is absent: the LM head is token_embd. */
  tied: boolean;
  bosId: number | null;
  eosId: number | null;
}

/** A Folio ModelConfig from GGUF metadata (llama.cpp's key names). */
export function ggufConfig(m: Metadata, arch: Architecture, t: FromTensorsAndTokenizer): ModelConfig {
  const { vocabSize } = t;
  const k = (key: string) => `${arch}.${key}`;
  for (const [key, what] of Object.entries(UNIMPLEMENTED)) {
    // expert_count 0 is what some converters write for a dense model
    if (m.has(k(key)) && !(key === 'expert_count' && m.int(k(key), 1 << 16, undefined, 0) === 0)) m.fail(k(key), `${what} is not implemented`);
  }
  const hiddenSize = m.int(k('embedding_length'), MAX.hidden_size);
  const numHeads = m.int(k('attention.head_count'), MAX.num_attention_heads);
  const numKvHeads = m.int(k('attention.head_count_kv'), MAX.num_attention_heads, numHeads);
  if (numHeads % numKvHeads !== 0) m.fail(k('attention.head_count_kv'), `${numHeads} attention heads are not a multiple of ${numKvHeads} KV heads`);
  if (!m.has(k('attention.key_length')) && hiddenSize % numHeads !== 0) {
    m.fail(k('attention.key_length'), `is missing, and embedding_length ${hiddenSize} is not a multiple of head_count ${numHeads}`);
  }
  const headDim = m.int(k('attention.key_length'), MAX.head_dim, hiddenSize / numHeads);
  if (headDim % 2 !== 0) m.fail(k('attention.key_length'), `head dimension ${headDim} must be even for RoPE`);
  const valueDim = m.int(k('attention.value_length'), MAX.head_dim, headDim);
  if (valueDim !== headDim) m.fail(k('attention.value_length'), `${valueDim} differs from the key length ${headDim}; Folio's heads have one size`);
  const ropeDims = m.int(k('rope.dimension_count'), MAX.head_dim, headDim);
  if (ropeDims !== headDim) m.fail(k('rope.dimension_count'), `rotating ${ropeDims} of ${headDim} dimensions per head is not implemented; Folio rotates whole heads`);
  refuseRopeScaling(m, k('rope.scaling.type'));
  if (vocabSize > MAX.vocab_size) m.fail(k('vocab_size'), `${vocabSize} is larger than Folio accepts (at most ${MAX.vocab_size})`);
  if (m.has(k('vocab_size')) && m.int(k('vocab_size'), MAX.vocab_size) !== vocabSize) {
    m.fail(k('vocab_size'), `says ${m.int(k('vocab_size'), MAX.vocab_size)}, but token_embd.weight has ${vocabSize} rows`);
  }
  return {
    modelType: arch,
    hiddenSize,
    intermediateSize: m.int(k('feed_forward_length'), MAX.intermediate_size),
    numLayers: m.int(k('block_count'), MAX.num_hidden_layers),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    maxPositions: m.int(k('context_length'), MAX.max_position_embeddings),
    ropeTheta: m.num(k('rope.freq_base'), 10000),
    // llama3 scaling reaches GGUF as a rope_freqs.weight tensor, which loadGguf reads (ropeFactors.ts)
    ropeScaling: null,
    rmsNormEps: m.num(k('attention.layer_norm_rms_epsilon')),
    tieWordEmbeddings: t.tied,
    qkvBias: arch === 'qwen2',
    bosTokenId: t.bosId,
    eosTokenIds: t.eosId === null ? [] : [t.eosId],
  };
}

/** Only unscaled RoPE: linear and YaRN scaling change every angle, and Folio does not run them. */
function refuseRopeScaling(m: Metadata, key: string): void {
  if (!m.has(key)) return;
  const type = m.string(key);
  if (type !== 'none') m.fail(key, `RoPE scaling ${JSON.stringify(type)} is not implemented (Folio runs unscaled RoPE from GGUF files)`);
}
