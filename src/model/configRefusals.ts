import type { Fields } from './configFields.ts';
import { show } from './configFields.ts';

/** What parseConfig has read before these checks run. */
export interface Shape {
  modelType: string;
  numLayers: number;
  maxPositions: number;
}

/**
 * Keys that change what a forward pass computes and that Folio does not implement. Each is
 * refused where it would change the result, and accepted where it cannot (a sliding window no
 * shorter than the context, a bias switched off), so that no such key is ever silently ignored.
 */
export function refuseUnsupported(f: Fields, s: Shape): void {
  activation(f);
  biases(f, s.modelType);
  slidingWindow(f, s);
  for (const [key, what] of Object.entries(UNIMPLEMENTED)) if (f.has(key)) f.fail(key, `${what} is not implemented`);
  if (f.has('partial_rotary_factor') && f.obj.partial_rotary_factor !== 1) {
    f.fail('partial_rotary_factor', `rotating part of each head (${show(f.obj.partial_rotary_factor)}) is not implemented; Folio rotates whole heads`);
  }
}

/** Keys refused whenever they are set (not null). */
const UNIMPLEMENTED: Readonly<Record<string, string>> = {
  attn_logit_softcapping: 'soft-capping of attention scores',
  final_logit_softcapping: 'soft-capping of the logits',
  attention_chunk_size: 'chunked attention',
  quantization_config: 'a quantized checkpoint (GPTQ, AWQ, bitsandbytes, ...): use f32, f16 or bf16 safetensors; this',
};

/** Every key refuseUnsupported may refuse. */
export const REFUSABLE_KEYS: readonly string[] = [
  'hidden_act',
  'hidden_activation',
  'attention_bias',
  'mlp_bias',
  'sliding_window',
  'use_sliding_window',
  'max_window_layers',
  'layer_types',
  'partial_rotary_factor',
  ...Object.keys(UNIMPLEMENTED),
];

const SILU = new Set(['silu', 'swish']);

function activation(f: Fields): void {
  for (const key of ['hidden_act', 'hidden_activation']) {
    if (f.has(key) && !SILU.has(f.obj[key] as string)) f.fail(key, `activation ${show(f.obj[key])} is not implemented (Folio runs silu)`);
  }
}

/**
 * Llama's attention_bias adds biases to q, k, v and o_proj, and mlp_bias to the MLP; Folio
 * runs neither. Qwen2 and Mistral fix their biases in code (q/k/v for Qwen2) whatever the config says.
 */
function biases(f: Fields, modelType: string): void {
  const attention = f.bool('attention_bias', false);
  const mlp = f.bool('mlp_bias', false);
  if (modelType !== 'llama') return;
  if (attention) f.fail('attention_bias', 'biases on q, k, v and o_proj (Llama attention_bias) are not implemented');
  if (mlp) f.fail('mlp_bias', 'biases on the MLP projections are not implemented');
}

/**
 * Sliding-window attention is not implemented, so a window is accepted only where it cannot
 * bite: absent, switched off (Qwen2's use_sliding_window), on no layer, or at least as long as
 * the context (a sequence never outgrows it).
 */
function slidingWindow(f: Fields, s: Shape): void {
  const window = f.has('sliding_window') ? f.int('sliding_window', Number.MAX_SAFE_INTEGER) : null;
  // In transformers, Qwen2's window applies only when use_sliding_window is set; Mistral's always.
  const enabled = s.modelType === 'qwen2' ? f.bool('use_sliding_window', false) : true;
  const sliding = slidingLayers(f, s);
  if (window === null || !enabled || window >= s.maxPositions || sliding.length === 0) return;
  const layers = sliding.length === s.numLayers ? 'every layer' : `layers ${sliding[0]}-${sliding[sliding.length - 1]} of ${s.numLayers}`;
  f.fail(
    'sliding_window',
    `sliding-window attention (${window} tokens, ${layers}) is not implemented, and max_position_embeddings ${s.maxPositions} ` +
      `lets a sequence outgrow the window; to run this model within its window, set max_position_embeddings to ${window}`,
  );
}

/**
 * The layers a window would apply to. Only Qwen2 reads layer_types and max_window_layers in
 * transformers; in Mistral (and Llama) a window applies to every layer whatever they say.
 */
function slidingLayers(f: Fields, s: Shape): number[] {
  const all = Array.from({ length: s.numLayers }, (_, i) => i);
  const types = f.has('layer_types') ? layerTypes(f, s.numLayers) : null;
  if (s.modelType !== 'qwen2') return all;
  if (types) return all.filter((i) => types[i] === 'sliding_attention');
  // Qwen2Config's default; layers from this index on use the window.
  const first = f.int('max_window_layers', 2 ** 20, 28, 0);
  return all.filter((i) => i >= first);
}

/** One attention kind per layer, each one Folio runs (full, or sliding where the window cannot bite). */
function layerTypes(f: Fields, numLayers: number): string[] {
  const types = f.obj.layer_types;
  if (!Array.isArray(types) || types.length !== numLayers) {
    f.fail('layer_types', `must list one attention kind for each of the ${numLayers} layers, got ${show(types)}`);
  }
  types.forEach((t, i) => {
    if (t !== 'full_attention' && t !== 'sliding_attention') f.fail('layer_types', `layer ${i} is ${show(t)}; Folio runs full attention`);
  });
  return types as string[];
}
