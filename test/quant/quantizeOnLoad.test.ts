import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { dequantize } from '../../src/quant/index.ts';
import { formatForRow, quantizeModel } from '../../src/quant/quantizeModel.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';
import { GGUF_DIR, loadPath } from '../gguf/ggufFiles.ts';

interface Run {
  prompt: string;
  prompt_ids: number[];
  exact_greedy_ids: number[];
}
const reference: { files: Record<string, { runs: Run[] }> } = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'));

/**
 * The oracle: stories260K's safetensors (converted from llama2.c by `npm run setup`),
 * quantized on load, equals the GGUF file gguf-py's quantizer wrote from the same weights,
 * tensor by tensor and byte for byte (formats included: ffn_down's 172-wide rows fall back to
 * F16 as in those files), after both loaders put q/k rows in rotate-half order; and its greedy
 * ids on the CPU reference are that file's exact reference ids.
 */
describe('--weights on stories260K safetensors equals the GGUF llama.cpp-style tools wrote', () => {
  for (const [option, file] of [
    ['q4_0', 'stories260K-Q4_0.gguf'],
    ['q8_0', 'stories260K-Q8_0.gguf'],
  ] as const) {
    it(`${option}: packed bytes equal ${file}'s, and greedy ids its exact reference`, async () => {
      const mine = await loadModel(new FolderSource(DEFAULT_MODEL), { weights: option });
      const gguf = await loadPath(resolve(GGUF_DIR, file));
      const packed = mine.weights.packed!;
      expect([...packed.keys()].sort()).toEqual([...gguf.weights.packed!.keys()].sort());
      expect(packed.size).toBe(36);
      const formats = new Map<string, number>();
      for (const [name, want] of gguf.weights.packed!) {
        const got = packed.get(name)!;
        expect({ name, format: got.format, rows: got.rows, cols: got.cols }).toEqual({ name, format: want.format, rows: want.rows, cols: want.cols });
        // Compared as a whole so a mismatch reports the tensor, not a 20k-line diff.
        const same = got.bytes.length === want.bytes.length && got.bytes.every((b, i) => b === want.bytes[i]);
        expect({ name, same }).toEqual({ name, same: true });
        formats.set(got.format, (formats.get(got.format) ?? 0) + 1);
      }
      // SOURCE.md: "F16 5, F32 11, <Q> 31": the five ffn_down fall back; norms stay f32.
      expect(Object.fromEntries(formats)).toEqual({ F16: 5, [option.toUpperCase()]: 31 });
      expect([...mine.weights.tensors.keys()].sort()).toEqual([...gguf.weights.tensors.keys()].sort());
      expect(mine.weights.tensors.size).toBe(11);
      for (const [name, v] of gguf.weights.tensors) expect(mine.weights.tensors.get(name)).toEqual(v);

      const tokenizer = Tokenizer.fromJson(mine.tokenizerJson, mine.tokenizerConfig);
      for (const run of reference.files[file].runs) {
        expect(tokenizer.encode(run.prompt)).toEqual(run.prompt_ids);
        expect(await cpuGreedy(mine.weights, run.prompt_ids, run.exact_greedy_ids.length)).toEqual(run.exact_greedy_ids);
      }
    });
  }

  it('f32 (the default) keeps every tensor f32 and the unsalted fingerprint; other formats salt it', async () => {
    const source = new FolderSource(DEFAULT_MODEL);
    const plain = await loadModel(source);
    const f32 = await loadModel(source, { weights: 'f32' });
    const f16 = await loadModel(source, { weights: 'f16' });
    expect(plain.weights.packed).toBeUndefined();
    expect(f32.weights.fingerprint).toBe(plain.weights.fingerprint);
    expect(f16.weights.fingerprint).not.toBe(plain.weights.fingerprint);
    // f16: every 2-D weight (all rows divide a block of one), values f16-rounded.
    expect(f16.weights.packed!.size).toBe(36);
    for (const [name, p] of f16.weights.packed!) {
      expect(p.format).toBe('F16');
      const back = dequantize('F16', p.bytes, p.rows * p.cols);
      // Round to nearest f16: relative error at most 2^-11 (values above f16's normal range here).
      expect(maxRel(back, plain.weights.tensors.get(name)!)).toBeLessThanOrEqual(2 ** -11);
    }
  });

  it('q4_k: 256-wide blocks where rows allow; otherwise llama.cpp falls back to Q5_0, then F16', async () => {
    expect(formatForRow('Q4_K', 512)).toBe('Q4_K');
    expect(formatForRow('Q4_K', 576)).toBe('Q5_0'); // SmolLM2's hidden size
    expect(formatForRow('Q4_K', 172)).toBe('F16');
    expect(formatForRow('Q6_K', 64)).toBe('Q8_0');
    expect(formatForRow('Q8_0', 172)).toBe('F16');
    expect(formatForRow('Q4_0', 64)).toBe('Q4_0');
    const { weights } = await loadModel(new FolderSource(DEFAULT_MODEL), { weights: 'q4_k' });
    const formats = new Set([...weights.packed!.values()].map((p) => `${p.cols}:${p.format}`));
    expect([...formats].sort()).toEqual(['172:F16', '64:Q5_0']);
  });

  it('quantizeModel packs 2-D weights of a 256-wide model in Q4_K and leaves 1-D ones', () => {
    const config = { vocabSize: 8, hiddenSize: 256, intermediateSize: 512, numLayers: 1, numHeads: 4, numKvHeads: 2, headDim: 64, tieWordEmbeddings: true, qkvBias: true } as never;
    const tensors = new Map<string, Float32Array>();
    const rnd = mulberry(7);
    const shapes: [string, number[]][] = [
      ['model.embed_tokens.weight', [8, 256]],
      ['model.layers.0.self_attn.q_proj.weight', [256, 256]],
      ['model.layers.0.self_attn.q_proj.bias', [256]],
      ['model.layers.0.mlp.down_proj.weight', [256, 512]],
      ['model.norm.weight', [256]],
    ];
    for (const [name, s] of shapes) tensors.set(name, Float32Array.from({ length: s.reduce((a, b) => a * b) }, () => rnd() - 0.5));
    const { tensors: rest, packed } = quantizeModel(tensors, config, 'Q4_K');
    expect([...rest.keys()].sort()).toEqual(['model.layers.0.self_attn.q_proj.bias', 'model.norm.weight']);
    expect(rest.get('model.norm.weight')).toBe(tensors.get('model.norm.weight'));
    const down = packed.get('model.layers.0.mlp.down_proj.weight')!;
    expect({ format: down.format, rows: down.rows, cols: down.cols, bytes: down.bytes.length }).toEqual({ format: 'Q4_K', rows: 256, cols: 512, bytes: 256 * 2 * 144 });
    // Round trip within Q4_K's step: |error| <= (max - min) / 15 per 32-value sub-block, loosely.
    const back = dequantize('Q4_K', down.bytes, 256 * 512);
    const orig = tensors.get('model.layers.0.mlp.down_proj.weight')!;
    let worst = 0;
    for (let i = 0; i < orig.length; i++) worst = Math.max(worst, Math.abs(back[i] - orig[i]));
    expect(worst).toBeLessThan(1 / 15);
  });

  it('refuses an unknown weights option before reading the model', async () => {
    await expect(loadModel(new FolderSource('/nonexistent'), { weights: 'q3_k' as never })).rejects.toThrow(InvalidParamsError);
    await expect(loadModel(new FolderSource('/nonexistent'), { weights: 'q3_k' as never })).rejects.toThrow(/weights.*q4_0/);
  });
});

function maxRel(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 2 ** -14));
  return m;
}

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
