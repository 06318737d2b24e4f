import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.ts';
import { expectedTensors, parseConfig } from '../../src/model/config.ts';
import { narrow, widen } from '../../src/model/dtype.ts';
import { encodeSafetensors } from '../../src/model/safetensorsWriter.ts';
import type { DType, Tensor } from '../../src/model/weights.ts';

/** A tiny Llama config.json with grouped-query attention (2 heads, 1 KV head). */
export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 16,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    ...overrides,
  };
}

export interface SyntheticTensor {
  shape: number[];
  data: Float32Array;
}

/** Deterministic values in [-1, 1) for every tensor the config implies. */
export function randomTensors(rawConfig: Record<string, unknown>, seed = 1): Map<string, SyntheticTensor> {
  let s = seed >>> 0;
  // mulberry32: a tiny seeded PRNG so every run writes the same bytes.
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const out = new Map<string, SyntheticTensor>();
  for (const [name, shape] of expectedTensors(parseConfig(rawConfig))) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
    out.set(name, { shape, data });
  }
  return out;
}

/** The f32 values a loader must produce for `t` stored in `dtype`. */
export const stored = (t: SyntheticTensor, dtype: DType): Float32Array => widen(narrow(t.data, t.shape, dtype));

export interface WriteOptions {
  dtype?: DType;
  /** Split into this many shards with a model.safetensors.index.json; 0 writes model.safetensors. */
  shards?: number;
  tokenizer?: boolean;
}

/** Writes a Hugging Face model folder: config.json, safetensors (single or sharded), tokenizer files. */
export function writeModel(
  dir: string,
  rawConfig: Record<string, unknown>,
  tensors: Map<string, SyntheticTensor>,
  opts: WriteOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(rawConfig, null, 2));
  const encoded = [...tensors].map(([name, t]): [string, Tensor] => [name, narrow(t.data, t.shape, opts.dtype ?? 'F32')]);
  const shards = opts.shards ?? 0;
  if (shards === 0) {
    writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(new Map(encoded), { format: 'pt' }));
  } else {
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const mine = encoded.filter((_, i) => i % shards === s);
      for (const [name] of mine) weightMap[name] = file;
      writeFileSync(join(dir, file), encodeSafetensors(new Map(mine)));
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  if (opts.tokenizer) {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {} } }));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }));
  }
}

/** A fresh temp folder and a function that removes it. */
export function tempDir(prefix = 'folio-model-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The ConfigError parseConfig throws for `raw`; fails the test when the config is accepted. */
export function configRefusal(raw: Record<string, unknown>): ConfigError {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('the config was accepted');
}
