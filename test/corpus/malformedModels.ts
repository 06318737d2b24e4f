import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type FolioError, ModelFormatError, TokenizerError } from '../../src/errors.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { DEFAULT_MODEL } from '../paths.ts';

/** One broken model folder: how to break a copy of stories260K, and the error class it must give. */
export interface MalformedModel {
  name: string;
  break: (dir: string) => void;
  error: abstract new (...args: never[]) => FolioError;
}

const WEIGHTS = 'model.safetensors';

const readJson = (dir: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const writeJson = (dir: string, file: string, value: unknown): void => writeFileSync(join(dir, file), JSON.stringify(value));
const config = (patch: Record<string, unknown>) => (dir: string) => writeJson(dir, 'config.json', { ...readJson(dir, 'config.json'), ...patch });
const without = (field: string) => (dir: string) => {
  const c = readJson(dir, 'config.json');
  delete c[field];
  writeJson(dir, 'config.json', c);
};
const write = (file: string, text: string) => (dir: string) => writeFileSync(join(dir, file), text);
const remove = (file: string) => (dir: string) => rmSync(join(dir, file));

/** Replaces text in the safetensors header with text of the same length (offsets stay right). */
const header = (from: string, to: string) => (dir: string) => {
  if (from.length !== to.length) throw new Error('header edits must keep the length');
  const bytes = readFileSync(join(dir, WEIGHTS));
  const text = bytes.toString('latin1');
  if (!text.includes(from)) throw new Error(`${from} is not in the header`);
  writeFileSync(join(dir, WEIGHTS), Buffer.from(text.replace(from, to), 'latin1'));
};

/** Sets one f32 weight of a tensor, in place in the file. */
const poison = (tensor: string, index: number, value: number) => (dir: string) => {
  const bytes = new Uint8Array(readFileSync(join(dir, WEIGHTS)));
  const t = parseSafetensors(bytes, WEIGHTS).tensors.get(tensor)!;
  new DataView(bytes.buffer).setFloat32(t.bytes.byteOffset + 4 * index, value, true);
  writeFileSync(join(dir, WEIGHTS), bytes);
};

const truncate = (file: string, keep: (n: number) => number) => (dir: string) => {
  const bytes = readFileSync(join(dir, file));
  writeFileSync(join(dir, file), bytes.subarray(0, keep(bytes.length)));
};

const tokenizer = (edit: (t: { model: { vocab: Record<string, number> }; added_tokens: unknown[] }) => void) => (dir: string) => {
  const t = readJson(dir, 'tokenizer.json') as unknown as Parameters<typeof edit>[0];
  edit(t);
  writeJson(dir, 'tokenizer.json', t);
};

const index = (weightMap: Record<string, string>) => (dir: string) => writeJson(dir, 'model.safetensors.index.json', { metadata: {}, weight_map: weightMap });

/** At least 30 ways a model folder goes wrong: the faults of issue 10, and those handled before. */
export const MALFORMED: MalformedModel[] = [
  // config.json: values Folio cannot run, or that are no config at all
  { name: 'config without hidden_size', break: without('hidden_size'), error: ConfigError },
  { name: 'num_hidden_layers 1e9', break: config({ num_hidden_layers: 1e9 }), error: ConfigError },
  { name: 'vocab_size 1e12', break: config({ vocab_size: 1e12 }), error: ConfigError },
  { name: 'hidden_size 2^40', break: config({ hidden_size: 2 ** 40 }), error: ConfigError },
  { name: '8 heads over 3 KV heads', break: config({ num_key_value_heads: 3 }), error: ConfigError },
  { name: 'odd head_dim', break: config({ head_dim: 7 }), error: ConfigError },
  { name: 'Mistral with a 16-token sliding window', break: config({ model_type: 'mistral', sliding_window: 16 }), error: ConfigError },
  { name: 'Qwen2 with use_sliding_window on every layer', break: config({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 16, max_window_layers: 0 }), error: ConfigError },
  { name: 'layer_types with chunked attention', break: config({ layer_types: Array(5).fill('chunked_attention') }), error: ConfigError },
  { name: 'rope_parameters of type yarn (transformers 5)', break: config({ rope_theta: undefined, rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4 } }), error: ConfigError },
  { name: 'rope_scaling of type dynamic (transformers 4)', break: config({ rope_scaling: { type: 'dynamic', factor: 2 } }), error: ConfigError },
  { name: 'rope_parameters disagreeing with rope_theta', break: config({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } }), error: ConfigError },
  { name: 'partial_rotary_factor 0.5', break: config({ partial_rotary_factor: 0.5 }), error: ConfigError },
  { name: 'hidden_act gelu', break: config({ hidden_act: 'gelu' }), error: ConfigError },
  { name: 'Llama attention_bias', break: config({ attention_bias: true }), error: ConfigError },
  { name: 'mlp_bias', break: config({ mlp_bias: true }), error: ConfigError },
  { name: 'final_logit_softcapping', break: config({ final_logit_softcapping: 30 }), error: ConfigError },
  { name: 'a GPTQ quantization_config', break: config({ quantization_config: { quant_method: 'gptq', bits: 4 } }), error: ConfigError },
  { name: 'tie_word_embeddings "yes"', break: config({ tie_word_embeddings: 'yes' }), error: ConfigError },
  { name: 'negative rms_norm_eps', break: config({ rms_norm_eps: -1e-5 }), error: ConfigError },
  { name: 'model_type gpt2', break: config({ model_type: 'gpt2' }), error: ConfigError },
  { name: 'config.json that is an array', break: write('config.json', '[1, 2]'), error: ConfigError },
  // files missing, or not what they say
  { name: 'no config.json', break: remove('config.json'), error: ModelFormatError },
  { name: 'config.json that is not JSON', break: write('config.json', '{ "model_type": '), error: ModelFormatError },
  { name: 'config.json that is an HTML page', break: write('config.json', '<!doctype html><html><body>Not found</body></html>'), error: ModelFormatError },
  { name: 'no weights file', break: remove(WEIGHTS), error: ModelFormatError },
  { name: 'weights truncated by 10 bytes', break: truncate(WEIGHTS, (n) => n - 10), error: ModelFormatError },
  { name: 'weights cut to 4 bytes', break: truncate(WEIGHTS, () => 4), error: ModelFormatError },
  { name: 'a safetensors header that is not JSON', break: header('{"__metadata__"', '["__metadata__"'), error: ModelFormatError },
  { name: 'an unsupported dtype', break: header('"F32"', '"I32"'), error: ModelFormatError },
  { name: 'a missing tensor', break: header('"model.norm.weight"', '"model.norm.weighX"'), error: ModelFormatError },
  { name: 'shapes that disagree with intermediate_size', break: config({ intermediate_size: 180 }), error: ModelFormatError },
  { name: 'a NaN weight', break: poison('model.layers.2.mlp.up_proj.weight', 77, NaN), error: ModelFormatError },
  { name: 'an infinite weight', break: poison('model.embed_tokens.weight', 5, Infinity), error: ModelFormatError },
  { name: 'a shard index that is not JSON', break: write('model.safetensors.index.json', 'weight_map: {}'), error: ModelFormatError },
  { name: 'a shard index pointing outside the folder', break: index({ 'model.norm.weight': '../../etc/passwd' }), error: ModelFormatError },
  { name: 'tokenizer.json that is not JSON', break: write('tokenizer.json', '{"model": '), error: ModelFormatError },
  // the tokenizer against the model
  { name: 'no tokenizer.json', break: remove('tokenizer.json'), error: TokenizerError },
  {
    name: 'a tokenizer with 100 ids past the vocabulary',
    break: tokenizer((t) => {
      for (let id = 512; id < 612; id++) t.added_tokens.push({ id, content: `<x${id}>`, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
    }),
    error: TokenizerError,
  },
  {
    name: 'a 300-token tokenizer for the 512-token model',
    break: tokenizer((t) => {
      t.model.vocab = Object.fromEntries(Object.entries(t.model.vocab).filter(([, id]) => id < 300));
    }),
    error: TokenizerError,
  },
  { name: 'tokenizer.json that is no tokenizer', break: write('tokenizer.json', '{"model": 5}'), error: TokenizerError },
];

/** A copy of stories260K, broken as `m` says. */
export function writeMalformed(dir: string, m: MalformedModel): void {
  // Real copies even where the model folder is a link: breaking one must never reach the original.
  cpSync(DEFAULT_MODEL, dir, { recursive: true, dereference: true });
  m.break(dir);
}
