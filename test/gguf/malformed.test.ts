import { GGUFValueType } from '@huggingface/gguf';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ModelFormatError } from '../../src/errors.ts';
import { dataLayout, fixtureBytes, loadPath, replaceText, tempFolder, tensorFields, withExtraTensor, withMetadata } from './ggufFiles.ts';

const tmp = tempFolder();
afterAll(() => tmp.remove());

const F32 = 'stories260K-F32.gguf';
const Q8 = 'stories260K-Q8_0.gguf';

/** Loads `bytes` written as `name` and returns what it threw. */
async function failure(name: string, bytes: Uint8Array): Promise<unknown> {
  return loadPath(tmp.write(name, bytes)).then(
    () => new Error('loaded'),
    (e: unknown) => e,
  );
}

function expectFormatError(err: unknown, file: string, tensor: string | undefined, message: RegExp): void {
  expect(err).toBeInstanceOf(ModelFormatError);
  const e = err as ModelFormatError;
  expect(e.file).toBe(file);
  expect(e.tensor).toBe(tensor);
  expect(e.message).toMatch(message);
}

function expectConfigError(err: unknown, file: string, key: string, message: RegExp): void {
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.file).toBe(file);
  expect(e.field).toBe(key);
  expect(e.message).toMatch(message);
}

const setU32 = (bytes: Uint8Array, at: number, v: number) => new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, v, true);
const setU64 = (bytes: Uint8Array, at: number, v: number) => new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, BigInt(v), true);
const getU64 = (bytes: Uint8Array, at: number) => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true));

describe('malformed GGUF files get typed errors naming the file and tensor', () => {
  it('bad magic', async () => {
    const bytes = fixtureBytes(Q8);
    bytes.set([0x47, 0x47, 0x4d, 0x4c], 0); // "GGML": llama.cpp's pre-GGUF format
    expectFormatError(await failure('magic.gguf', bytes), 'magic.gguf', undefined, /GGUF magic.*"GGML"/);
  });

  it('unsupported versions: 4 (unknown), 1 (which llama.cpp dropped), a big-endian file', async () => {
    for (const version of [4, 1]) {
      const bytes = fixtureBytes(Q8);
      setU32(bytes, 4, version);
      expectFormatError(await failure(`v${version}.gguf`, bytes), `v${version}.gguf`, undefined, new RegExp(`GGUF version ${version}; Folio reads versions 2 and 3`));
    }
    const bigEndian = fixtureBytes(Q8);
    bigEndian.set([0, 0, 0, 3], 4);
    expectFormatError(await failure('be.gguf', bigEndian), 'be.gguf', undefined, /big-endian/);
  });

  it('truncated header (inside the metadata, and inside the tensor list)', async () => {
    const bytes = fixtureBytes(Q8);
    expectFormatError(await failure('short.gguf', bytes.slice(0, 2000)), 'short.gguf', undefined, /header is truncated/);
    const { type } = await tensorFields(bytes, 'blk.4.ffn_up.weight');
    expectFormatError(await failure('short2.gguf', bytes.slice(0, type)), 'short2.gguf', undefined, /header is truncated/);
  });

  it('truncated data names the first tensor that runs past the end', async () => {
    const bytes = fixtureBytes(F32);
    const { lastTensor } = await dataLayout(bytes);
    const cut = bytes.slice(0, bytes.length - 100);
    expectFormatError(await failure('cut.gguf', cut), 'cut.gguf', lastTensor, new RegExp(`file ends at byte ${cut.length}.*truncated`));
  });

  it('unknown tensor type', async () => {
    const bytes = fixtureBytes(Q8);
    setU32(bytes, (await tensorFields(bytes, 'blk.2.attn_k.weight')).type, 99);
    expectFormatError(await failure('type.gguf', bytes), 'type.gguf', 'blk.2.attn_k.weight', /ggml type 99.*cannot read/);
  });

  it('shape out of range: a dimension that disagrees with the metadata, an embedding too large to be one', async () => {
    const bytes = fixtureBytes(Q8);
    setU64(bytes, (await tensorFields(bytes, 'blk.0.ffn_down.weight')).dims[1], 128);
    expectFormatError(await failure('shape.gguf', bytes), 'shape.gguf', 'blk.0.ffn_down.weight', /ne \[172, 128\].*metadata implies \[64, 172\]/);
    const huge = fixtureBytes(Q8);
    setU64(huge, (await tensorFields(huge, 'token_embd.weight')).dims[1], 2 ** 31);
    expectFormatError(await failure('huge.gguf', huge), 'huge.gguf', 'token_embd.weight', /vocabulary of at most/);
    // past what the parser itself accepts for one dimension (2^32)
    setU64(huge, (await tensorFields(huge, 'token_embd.weight')).dims[1], 2 ** 40);
    expectFormatError(await failure('huger.gguf', huge), 'huger.gguf', 'token_embd.weight', /exceeds the maximum/);
  });

  it('rows that are not whole blocks', async () => {
    const bytes = fixtureBytes(Q8);
    const { dims } = await tensorFields(bytes, 'blk.1.ffn_down.weight');
    // ffn_down is F16 here (rows of 172); declared Q8_0, its rows are not whole 32-value blocks
    setU32(bytes, dims[1] + 8, 8);
    expectFormatError(await failure('blocks.gguf', bytes), 'blocks.gguf', 'blk.1.ffn_down.weight', /rows of 172 values are not a whole number of Q8_0 blocks/);
  });

  it('offset out of range', async () => {
    const bytes = fixtureBytes(Q8);
    setU64(bytes, (await tensorFields(bytes, 'output_norm.weight')).offset, 10 * 2 ** 20);
    expectFormatError(await failure('offset.gguf', bytes), 'offset.gguf', 'output_norm.weight', /needs bytes .* but the file ends/);
  });

  it('misaligned data', async () => {
    const bytes = fixtureBytes(Q8);
    const { offset } = await tensorFields(bytes, 'blk.3.attn_v.weight');
    setU64(bytes, offset, getU64(bytes, offset) + 2);
    expectFormatError(await failure('aligned.gguf', bytes), 'aligned.gguf', 'blk.3.attn_v.weight', /not a multiple of the alignment 32: the data is misaligned/);
  });

  it('general.alignment that is not a power of two', async () => {
    const bytes = await withMetadata(fixtureBytes(Q8), (m) => (m['general.alignment'] = { type: GGUFValueType.UINT32, value: 24 }));
    expectConfigError(await failure('align24.gguf', bytes), 'align24.gguf', 'general.alignment', /power of two/);
  });

  it('missing tokenizer metadata', async () => {
    const noTokens = replaceText(fixtureBytes(Q8), 'tokenizer.ggml.tokens', 'tokenizer.ggml.tokenz');
    expectConfigError(await failure('tokens.gguf', noTokens), 'tokens.gguf', 'tokenizer.ggml.tokens', /required metadata is missing/);
    const noModel = replaceText(fixtureBytes(Q8), 'tokenizer.ggml.model', 'tokenizer.ggml.mode_');
    expectConfigError(await failure('model.gguf', noModel), 'model.gguf', 'tokenizer.ggml.model', /required metadata is missing/);
    const noScores = replaceText(fixtureBytes(Q8), 'tokenizer.ggml.scores', 'tokenizer.ggml.score_');
    expectConfigError(await failure('scores.gguf', noScores), 'scores.gguf', 'tokenizer.ggml.scores', /required metadata is missing/);
  });

  it('unsupported architecture', async () => {
    const bytes = replaceText(fixtureBytes(Q8), 'llama', 'gemma'); // general.architecture's value comes first
    expectConfigError(await failure('arch.gguf', bytes), 'arch.gguf', 'general.architecture', /"gemma" is not implemented/);
  });

  it('missing metadata the model needs, and a tensor the model needs', async () => {
    const noHeads = await withMetadata(fixtureBytes(Q8), (m) => delete m['llama.attention.head_count']);
    expectConfigError(await failure('heads.gguf', noHeads), 'heads.gguf', 'llama.attention.head_count', /required metadata is missing/);
    const noNorm = replaceText(fixtureBytes(Q8), 'output_norm.weight', 'output_nor_.weight');
    expectFormatError(await failure('norm.gguf', noNorm), 'norm.gguf', 'output_nor_.weight', /not a tensor Folio knows/);
  });

  it('RoPE factors (rope_freqs.weight) that are not llama3 scaling are refused by name, not ignored', async () => {
    const bytes = await withExtraTensor(fixtureBytes(F32), 'rope_freqs.weight', Float32Array.from([1, 1, 3, 2]));
    expectFormatError(await failure('freqs.gguf', bytes), 'freqs.gguf', 'rope_freqs.weight', /llama3 scaling .* does not produce/);
  });

  it('a tensor the metadata does not account for is refused, not ignored', async () => {
    // block_count 4: blk.4's tensors are left over
    const bytes = await withMetadata(fixtureBytes(Q8), (m) => (m['llama.block_count'] = { type: GGUFValueType.UINT32, value: 4 }));
    expectFormatError(await failure('extra.gguf', bytes), 'extra.gguf', 'blk.4.attn_norm.weight', /not part of a llama model/);
  });

  it('metadata that changes the computation and is not implemented is refused, naming the key', async () => {
    const cases: [string, GGUFValueType, string | number, RegExp][] = [
      ['llama.rope.scaling.type', GGUFValueType.STRING, 'linear', /RoPE scaling "linear" is not implemented/],
      ['llama.rope.scaling.type', GGUFValueType.STRING, 'yarn', /RoPE scaling "yarn" is not implemented/],
      ['llama.expert_count', GGUFValueType.UINT32, 8, /mixture of experts/],
      ['llama.rope.dimension_count', GGUFValueType.UINT32, 4, /rotating 4 of 8 dimensions/],
      ['llama.attention.sliding_window', GGUFValueType.UINT32, 64, /sliding-window/],
    ];
    for (const [key, type, value, message] of cases) {
      const bytes = await withMetadata(fixtureBytes(Q8), (m) => (m[key] = { type, value } as never));
      expectConfigError(await failure('key.gguf', bytes), 'key.gguf', key, message);
    }
    // 'none' is unscaled RoPE, and an expert count of 0 is a dense model: both load
    const plain = await withMetadata(fixtureBytes(Q8), (m) => {
      m['llama.rope.scaling.type'] = { type: GGUFValueType.STRING, value: 'none' };
      m['llama.expert_count'] = { type: GGUFValueType.UINT32, value: 0 };
    });
    await expect(loadPath(tmp.write('plain.gguf', plain))).resolves.toBeDefined();
  });

  it('a non-finite weight, naming the tensor and element', async () => {
    const bytes = fixtureBytes(F32);
    const { offset } = await tensorFields(bytes, 'blk.1.ffn_norm.weight');
    const { dataOffset } = await dataLayout(bytes);
    new DataView(bytes.buffer).setFloat32(dataOffset + getU64(bytes, offset) + 4 * 5, NaN, true);
    expectFormatError(await failure('nan.gguf', bytes), 'nan.gguf', 'blk.1.ffn_norm.weight', /holds NaN at element \[5\]/);
  });
});
