import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ModelFormatError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { type LoadProgress, loadModel } from '../../src/model/loadModel.ts';
import type { ModelSource } from '../../src/model/ModelSource.ts';
import { lmHead } from '../../src/model/weights.ts';
import { randomTensors, stored, tempDir, tinyConfig, writeModel } from './synthetic.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);
let count = 0;
const freshDir = (): string => join(tmp.dir, `m${count++}`);

/** Writes a model (less the `drop`ped tensors) and returns its folder and tensors. */
function model(
  config = tinyConfig(),
  opts: Parameters<typeof writeModel>[3] & { drop?: string[] } = {},
): { dir: string; tensors: ReturnType<typeof randomTensors> } {
  const dir = freshDir();
  const tensors = randomTensors(config);
  for (const name of opts.drop ?? []) tensors.delete(name);
  writeModel(dir, config, tensors, opts);
  return { dir, tensors };
}

async function loadError(dir: string): Promise<Error> {
  try {
    await loadModel(new FolderSource(dir));
  } catch (e) {
    return e as Error;
  }
  throw new Error('the model loaded but should not have');
}

describe('loadModel from a folder', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`loads an untied Llama model stored in ${dtype}`, async () => {
      const { dir, tensors } = model(tinyConfig(), { dtype, tokenizer: true });
      const { weights, tokenizerJson, tokenizerConfig } = await loadModel(new FolderSource(dir));
      expect(weights.config).toMatchObject({ hiddenSize: 8, numLayers: 2, numKvHeads: 1, tieWordEmbeddings: false });
      expect([...weights.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
      for (const [name, t] of tensors) expect(weights.tensors.get(name), name).toEqual(stored(t, dtype));
      expect(lmHead(weights)).toBe(weights.tensors.get('lm_head.weight'));
      expect(weights.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(tokenizerJson).toMatchObject({ model: { type: 'BPE' } });
      expect(tokenizerConfig).toEqual({ bos_token: '<s>', eos_token: '</s>' });
    });
  }

  it('loads a sharded model with an index, fetching each shard once', async () => {
    const single = model(tinyConfig(), { dtype: 'BF16' });
    const sharded = freshDir();
    writeModel(sharded, tinyConfig(), single.tensors, { dtype: 'BF16', shards: 3 });
    const fetched: string[] = [];
    const folder = new FolderSource(sharded);
    const counting: ModelSource = {
      describe: () => folder.describe(),
      fetchJson: (n) => folder.fetchJson(n),
      has: (n) => folder.has(n),
      fetchFile: (n) => (fetched.push(n), folder.fetchFile(n)),
    };
    const progress: LoadProgress[] = [];
    const a = await loadModel(counting, { onProgress: (p) => progress.push(p) });
    const b = await loadModel(new FolderSource(single.dir));
    expect(a.weights.tensors).toEqual(b.weights.tensors);
    const shards = fetched.filter((n) => n.endsWith('.safetensors'));
    expect(shards.sort()).toEqual(['00001', '00002', '00003'].map((i) => `model-${i}-of-00003.safetensors`));
    expect(progress.map((p) => p.filesDone)).toEqual([1, 2, 3]);
    expect(progress.every((p) => p.filesTotal === 3)).toBe(true);
    expect(a.tokenizerJson).toBeNull();
    expect(a.tokenizerConfig).toBeNull();
  });

  it('loads tied embeddings, with or without a redundant lm_head in the file', async () => {
    const config = tinyConfig({ tie_word_embeddings: true });
    const { dir } = model(config);
    const { weights } = await loadModel(new FolderSource(dir));
    expect(weights.tensors.has('lm_head.weight')).toBe(false);
    expect(lmHead(weights)).toBe(weights.tensors.get('model.embed_tokens.weight'));

    const withHead = freshDir();
    writeModel(withHead, config, randomTensors(tinyConfig()));
    const again = await loadModel(new FolderSource(withHead));
    expect(again.weights.tensors.has('lm_head.weight')).toBe(false);
  });

  it('loads Qwen2 q/k/v biases', async () => {
    const config = tinyConfig({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: true });
    const { dir, tensors } = model(config, { dtype: 'F16' });
    const { weights } = await loadModel(new FolderSource(dir));
    expect(weights.config.qkvBias).toBe(true);
    const bias = 'model.layers.1.self_attn.k_proj.bias';
    expect(weights.tensors.get(bias)).toEqual(stored(tensors.get(bias)!, 'F16'));
    expect(weights.tensors.get(bias)!.length).toBe(4);
  });

  it('ignores harmless extra tensors such as rotary_emb.inv_freq', async () => {
    const config = tinyConfig();
    const dir = freshDir();
    const tensors = randomTensors(config);
    tensors.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [2], data: new Float32Array([1, 0.01]) });
    writeModel(dir, config, tensors);
    const { weights } = await loadModel(new FolderSource(dir));
    expect(weights.tensors.has('model.layers.0.self_attn.rotary_emb.inv_freq')).toBe(false);
    expect(weights.tensors.size).toBe(tensors.size - 1);
  });

  it('gives the same fingerprint for the same files and a new one when a byte changes', async () => {
    const { dir } = model();
    const first = (await loadModel(new FolderSource(dir))).weights.fingerprint;
    expect((await loadModel(new FolderSource(dir))).weights.fingerprint).toBe(first);
    const path = join(dir, 'model.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path, bytes);
    const changed = (await loadModel(new FolderSource(dir))).weights.fingerprint;
    expect(changed).not.toBe(first);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig({ rope_theta: 500000 })));
    expect((await loadModel(new FolderSource(dir))).weights.fingerprint).not.toBe(changed);
  });
});

describe('loadModel refuses broken models with a named error', () => {
  const weightsFile = (dir: string): string => join(dir, 'model.safetensors');

  it('a truncated weights file', async () => {
    const { dir } = model();
    const bytes = readFileSync(weightsFile(dir));
    writeFileSync(weightsFile(dir), bytes.subarray(0, bytes.length - 10));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors \(tensor lm_head\.weight\): .*truncated/);
  });

  it('a file too short for its header length', async () => {
    const { dir } = model();
    writeFileSync(weightsFile(dir), readFileSync(weightsFile(dir)).subarray(0, 40));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors: header length \d+ runs past the end/);
  });

  it('a header that is not JSON', async () => {
    const { dir } = model();
    const bytes = readFileSync(weightsFile(dir));
    bytes[8] = '['.charCodeAt(0);
    writeFileSync(weightsFile(dir), bytes);
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors: header is not valid JSON/);
  });

  it('an unknown dtype, in a shard', async () => {
    const { dir } = model(tinyConfig(), { shards: 2 });
    const shard = join(dir, 'model-00002-of-00002.safetensors');
    writeFileSync(shard, Buffer.from(readFileSync(shard).toString('latin1').replace('"F32"', '"I32"'), 'latin1'));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model-00002-of-00002\.safetensors \(tensor [\w.]+\): dtype "I32" is not supported/);
  });

  it('a shape that disagrees with the config', async () => {
    const dir = freshDir();
    const tensors = randomTensors(tinyConfig());
    tensors.set('model.layers.1.mlp.up_proj.weight', { shape: [8, 12], data: new Float32Array(96) });
    writeModel(dir, tinyConfig(), tensors);
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as ModelFormatError).tensor).toBe('model.layers.1.mlp.up_proj.weight');
    expect(err.message).toMatch(/^model\.safetensors \(tensor model\.layers\.1\.mlp\.up_proj\.weight\): /);
    expect(err.message).toContain('[8, 12] disagrees with config.json, which implies [12, 8]');
  });

  it('a missing tensor', async () => {
    const { dir } = model(tinyConfig(), { drop: ['model.layers.0.input_layernorm.weight'] });
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toBe('model.safetensors (tensor model.layers.0.input_layernorm.weight): is missing');
  });

  it('an untied model without lm_head.weight', async () => {
    const { dir } = model(tinyConfig(), { drop: ['lm_head.weight'], shards: 2 });
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors\.index\.json \(tensor lm_head\.weight\): .*tie_word_embeddings/);
  });

  it('data_offsets out of range', async () => {
    const { dir } = model();
    const text = readFileSync(weightsFile(dir)).toString('latin1');
    // Move the last tensor 4 bytes on, past the data section, keeping its size; the header's
    // length stays the same because the padding spaces absorb any longer numbers.
    const patched = text.replace(
      /("lm_head\.weight":\{[^}]*"data_offsets":\[)(\d+),(\d+)\]\}([^ ]*)( *)/,
      (all, head: string, begin: string, end: string, rest: string) =>
        `${head}${Number(begin) + 4},${Number(end) + 4}]}${rest}`.padEnd(all.length, ' '),
    );
    expect(patched).not.toBe(text);
    expect(patched.length).toBe(text.length);
    writeFileSync(weightsFile(dir), Buffer.from(patched, 'latin1'));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors \(tensor lm_head\.weight\): data_offsets \[\d+, \d+\] run past the end of the data section/);
  });

  it('overlapping data_offsets', async () => {
    const { dir } = model();
    // Two names over the same bytes: a hand-made header, since the writer never does this.
    const header = JSON.stringify({
      'model.norm.weight': { dtype: 'F32', shape: [8], data_offsets: [0, 32] },
      'model.layers.0.input_layernorm.weight': { dtype: 'F32', shape: [8], data_offsets: [16, 48] },
    });
    const bytes = new Uint8Array(8 + header.length + 48);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    writeFileSync(weightsFile(dir), bytes);
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/\(tensor model\.layers\.0\.input_layernorm\.weight\): .*overlap those of model\.norm\.weight/);
  });

  it('an index that maps a tensor to a shard without it', async () => {
    const { dir } = model(tinyConfig(), { shards: 2 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    const name = 'model.norm.weight';
    index.weight_map[name] = index.weight_map[name].includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    writeFileSync(indexPath, JSON.stringify(index));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/^model\.safetensors\.index\.json \(tensor model\.norm\.weight\): maps it to model-0000\d-of-00002\.safetensors, which does not hold it/);
  });

  it('an index that points outside the model folder', async () => {
    const { dir } = model(tinyConfig(), { shards: 2 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    index.weight_map['model.norm.weight'] = '../../etc/passwd';
    writeFileSync(indexPath, JSON.stringify(index));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toContain('not a file inside the model');
  });

  it('a config without hidden_size', async () => {
    const config = tinyConfig();
    const { dir } = model(config);
    delete config.hidden_size;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('hidden_size');
    expect(err.message).toBe('config.json (field hidden_size): required field is missing');
  });

  it('a config.json that is not JSON, or missing', async () => {
    const { dir } = model();
    writeFileSync(join(dir, 'config.json'), '{ "model_type": ');
    expect((await loadError(dir)).message).toMatch(/^config\.json: is not valid JSON/);
    rmSync(join(dir, 'config.json'));
    expect((await loadError(dir)).message).toMatch(/^config\.json: not found in folder /);
  });

  it('a folder with no weights file', async () => {
    const { dir } = model();
    rmSync(weightsFile(dir));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/neither model\.safetensors nor model\.safetensors\.index\.json is in folder/);
  });
});
