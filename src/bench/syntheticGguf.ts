/**
 * Writes a synthetic llama model as a GGUF file (version 3) that both Folio's loader and llama.cpp
 * (wllama) read: a real model's shape (e.g. SmolLM2-135M) with syntheticPacked's random weights, so
 * that the CPU section can run Folio and wllama on the same bytes. No real weights of that shape exist
 * on these machines. The weights are written as they are, under llama.cpp's names: q/k rows are not
 * permuted (random rows have no order to keep), and both loaders read the same file, so both compute
 * the same model. The tokenizer is llama.cpp's SentencePiece kind: <unk>, <s>, </s>, the 256 byte
 * tokens, then pieces "▁w<i>" to the vocabulary size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import type { WeightFormat } from '../quant/index.ts';
import { ggufName } from '../gguf/tensorNames.ts';
import { syntheticPacked } from './weights.ts';

/** ggml_type ids of the formats written here. */
const GGML_TYPE: Partial<Record<WeightFormat, number>> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 };
const ALIGN = 32;
const enum T {
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

class Bytes {
  private readonly parts: Uint8Array[] = [];
  length = 0;
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  private num(n: number, set: (d: DataView) => void): this {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    return this.raw(b);
  }
  u32 = (v: number): this => this.num(4, (d) => d.setUint32(0, v, true));
  i32 = (v: number): this => this.num(4, (d) => d.setInt32(0, v, true));
  f32 = (v: number): this => this.num(4, (d) => d.setFloat32(0, v, true));
  u64 = (v: number): this => this.num(8, (d) => d.setBigUint64(0, BigInt(v), true));
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }
  pad(): this {
    const n = (ALIGN - (this.length % ALIGN)) % ALIGN;
    return n ? this.raw(new Uint8Array(n)) : this;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) (out.set(p, at), (at += p.length));
    return out;
  }
}

/** Writes `config` with random weights in `format` (norms f32) to `path`; returns the file's byte length. */
export function writeSyntheticGguf(path: string, config: ModelConfig, format: WeightFormat, seed: number): number {
  const type = GGML_TYPE[format];
  if (type === undefined) throw new RangeError(`writeSyntheticGguf writes F32, F16, Q8_0 and Q4_0, not ${format}`);
  if (!config.tieWordEmbeddings || config.qkvBias || config.ropeScaling) throw new RangeError('writeSyntheticGguf writes tied, bias-free llama models without rope scaling');
  const w = syntheticPacked(config, format, seed, () => {});
  const V = config.vocabSize;
  const h = new Bytes();
  const kv: Array<[string, (b: Bytes) => void]> = [];
  const key = (name: string, t: T, write: (b: Bytes) => void) => kv.push([name, (b) => write(b.str(name).u32(t))]);
  const arr = (name: string, t: T, n: number, item: (b: Bytes, i: number) => void) =>
    key(name, T.ARRAY, (b) => {
      b.u32(t).u64(n);
      for (let i = 0; i < n; i++) item(b, i);
    });
  key('general.architecture', T.STRING, (b) => b.str('llama'));
  key('general.name', T.STRING, (b) => b.str(`synthetic-${config.hiddenSize}x${config.numLayers}`));
  key('llama.context_length', T.U32, (b) => b.u32(config.maxPositions));
  key('llama.embedding_length', T.U32, (b) => b.u32(config.hiddenSize));
  key('llama.block_count', T.U32, (b) => b.u32(config.numLayers));
  key('llama.feed_forward_length', T.U32, (b) => b.u32(config.intermediateSize));
  key('llama.attention.head_count', T.U32, (b) => b.u32(config.numHeads));
  key('llama.attention.head_count_kv', T.U32, (b) => b.u32(config.numKvHeads));
  key('llama.rope.dimension_count', T.U32, (b) => b.u32(config.headDim));
  key('llama.attention.layer_norm_rms_epsilon', T.F32, (b) => b.f32(config.rmsNormEps));
  key('llama.rope.freq_base', T.F32, (b) => b.f32(config.ropeTheta));
  key('llama.vocab_size', T.U32, (b) => b.u32(V));
  key('tokenizer.ggml.model', T.STRING, (b) => b.str('llama'));
  const piece = (i: number): string => (i === 0 ? '<unk>' : i === 1 ? '<s>' : i === 2 ? '</s>' : i < 259 ? `<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>` : `▁w${i}`);
  arr('tokenizer.ggml.tokens', T.STRING, V, (b, i) => b.str(piece(i)));
  arr('tokenizer.ggml.scores', T.F32, V, (b, i) => b.f32(i < 259 ? 0 : -i));
  arr('tokenizer.ggml.token_type', T.I32, V, (b, i) => b.i32(i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  key('tokenizer.ggml.bos_token_id', T.U32, (b) => b.u32(1));
  key('tokenizer.ggml.eos_token_id', T.U32, (b) => b.u32(2));
  key('tokenizer.ggml.unknown_token_id', T.U32, (b) => b.u32(0));
  key('tokenizer.ggml.add_bos_token', T.BOOL, (b) => b.raw(new Uint8Array([1])));

  const tensors = [...expectedTensors(config)].map(([name, shape]) => {
    const p = w.packed?.get(name);
    const bytes = p ? p.bytes : (() => { const t = w.tensors.get(name)!; return new Uint8Array(t.buffer, t.byteOffset, t.byteLength); })();
    const ggmlType = p ? GGML_TYPE[p.format] : 0;
    if (ggmlType === undefined) throw new RangeError(`${name} came out as ${p?.format}, which this writer does not write`);
    return { name: ggufName(name), shape: [...shape].reverse(), type: ggmlType, bytes };
  });
  h.raw(new TextEncoder().encode('GGUF')).u32(3).u64(tensors.length).u64(kv.length);
  for (const [, write] of kv) write(h);
  let offset = 0;
  for (const t of tensors) {
    h.str(t.name).u32(t.shape.length);
    for (const d of t.shape) h.u64(d);
    h.u32(t.type).u64(offset);
    offset += Math.ceil(t.bytes.length / ALIGN) * ALIGN;
  }
  h.pad();
  const fd = openSync(path, 'w');
  try {
    const all = (b: Uint8Array): number => {
      for (let at = 0; at < b.length; ) at += writeSync(fd, b, at);
      return b.length;
    };
    let written = all(h.concat());
    for (const t of tensors) {
      written += all(t.bytes);
      const pad = (ALIGN - (t.bytes.length % ALIGN)) % ALIGN;
      if (pad) written += all(new Uint8Array(pad));
    }
    return written;
  } finally {
    closeSync(fd);
  }
}
