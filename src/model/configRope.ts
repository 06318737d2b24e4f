import { type Fields, isObject, show } from './configFields.ts';

/** llama3-style frequency scaling of RoPE (Llama 3.1 / 3.2). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface Rope {
  theta: number;
  scaling: Llama3RopeScaling | null;
}

/** transformers' own default when a config names no base. */
const DEFAULT_THETA = 10000;

/** The keys transformers 5 may nest rope_parameters under, one set per kind of layer. */
const LAYER_KINDS = new Set(['full_attention', 'sliding_attention', 'chunked_attention', 'linear_attention']);

/**
 * RoPE as either spelling gives it: transformers 4 wrote `rope_theta` and `rope_scaling`,
 * transformers 5 writes `rope_parameters` ({rope_type, rope_theta, factor, ...}), falling back
 * to a top-level rope_theta as transformers 5 does. A config with both spellings that disagree
 * runs differently under the two versions, so it is refused rather than guessed.
 */
export function readRope(top: Fields): Rope {
  const legacy: Rope = { theta: top.num('rope_theta', DEFAULT_THETA), scaling: scaling(top.object('rope_scaling')) };
  const params = ropeParameters(top);
  if (!params) return legacy;
  if (params.has('partial_rotary_factor') && params.obj.partial_rotary_factor !== 1) {
    params.fail('partial_rotary_factor', `rotating part of each head (${show(params.obj.partial_rotary_factor)}) is not implemented; Folio rotates whole heads`);
  }
  const current: Rope = { theta: params.num('rope_theta', legacy.theta), scaling: scaling(params) };
  const spelledTwice = top.has('rope_theta') || top.has('rope_scaling');
  if (spelledTwice && JSON.stringify(current) !== JSON.stringify(legacy)) {
    top.fail(
      'rope_parameters',
      `${describe(current)} disagrees with rope_theta / rope_scaling (${describe(legacy)}): transformers 5 would run the one, transformers 4 the other`,
    );
  }
  return current;
}

/** rope_parameters, flat or nested by layer kind (one RoPE for every kind, as Folio runs one). */
function ropeParameters(top: Fields): Fields | null {
  const raw = top.obj.rope_parameters;
  const keys = isObject(raw) ? Object.keys(raw) : [];
  if (keys.length === 0 || !keys.every((k) => LAYER_KINDS.has(k))) return top.object('rope_parameters');
  const distinct = new Set(keys.map((k) => JSON.stringify((raw as Record<string, unknown>)[k])));
  if (distinct.size > 1) top.fail('rope_parameters', `differs between layer kinds (${keys.join(', ')}); Folio runs one RoPE in every layer`);
  return top.object('rope_parameters')!.object(keys[0]);
}

/** The scaling a rope_scaling or rope_parameters object asks for; only default and llama3 run. */
function scaling(f: Fields | null): Llama3RopeScaling | null {
  if (!f) return null;
  const typeField = f.has('rope_type') ? 'rope_type' : 'type';
  const type = f.obj[typeField] ?? 'default';
  if (type === 'default') return null;
  if (type !== 'llama3') f.fail(typeField, `RoPE type ${show(type)} is not implemented (Folio runs default and llama3)`);
  const s: Llama3RopeScaling = {
    type: 'llama3',
    factor: f.num('factor'),
    lowFreqFactor: f.num('low_freq_factor', 1),
    highFreqFactor: f.num('high_freq_factor', 4),
    originalMaxPositions: f.int('original_max_position_embeddings', 2 ** 24, 8192),
  };
  // The smoothing between the two wavelengths divides by their difference.
  if (s.highFreqFactor <= s.lowFreqFactor) f.fail('high_freq_factor', `must be larger than low_freq_factor (${s.lowFreqFactor}), got ${s.highFreqFactor}`);
  return s;
}

function describe(r: Rope): string {
  return `theta ${r.theta}${r.scaling ? `, llama3 scaling ${JSON.stringify(r.scaling)}` : ', no scaling'}`;
}
