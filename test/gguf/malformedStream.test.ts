import { GGUFValueType } from '@huggingface/gguf';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { loadGguf } from '../../src/gguf/loadGguf.ts';
import type { ModelSource } from '../../src/model/ModelSource.ts';
import { dataLayout, fixtureBytes, loadPath, tempFolder, tensorFields, withMetadata } from './ggufFiles.ts';

const tmp = tempFolder();
afterAll(() => tmp.remove());

const Q8 = 'stories260K-Q8_0.gguf';
const getU64 = (b: Uint8Array, at: number) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));
const setU64 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setBigUint64(at, BigInt(v), true);

/** `bytes` as a download of unknown length (no Content-Length) in 4 KiB pieces. */
function unsized(name: string, bytes: Uint8Array): ModelSource {
  const fail = () => Promise.reject(new Error('not read whole'));
  return {
    describe: () => 'a stream',
    fetchFile: fail,
    fetchJson: fail,
    streamFile: async () => ({
      size: null,
      chunks: (async function* () {
        for (let at = 0; at < bytes.length; at += 4096) yield bytes.slice(at, at + 4096);
      })(),
    }),
    ggufFile: name,
  };
}

async function failure(p: Promise<unknown>): Promise<ModelFormatError> {
  const e = await p.then(() => new Error('loaded'), (err: unknown) => err);
  expect(e).toBeInstanceOf(ModelFormatError);
  return e as ModelFormatError;
}

/** A header larger than the streaming reader's first read (64 KiB), from a long description. */
const bigHeader = () => withMetadata(fixtureBytes(Q8), (m) => (m['general.description'] = { type: GGUFValueType.STRING, value: 'x'.repeat(300_000) }));

describe('malformed GGUF read as a stream', () => {
  it('a header larger than the first read is read again from a longer prefix; cut inside, it is truncated', async () => {
    const bytes = await bigHeader();
    const { weights } = await loadGguf(unsized('big.gguf', bytes));
    const plain = await loadPath(tmp.write('plain.gguf', fixtureBytes(Q8)));
    expect(weights.config).toEqual(plain.weights.config);
    const e = await failure(loadGguf(unsized('bigcut.gguf', bytes.slice(0, 150_000))));
    expect(e.file).toBe('bigcut.gguf');
    expect(e.message).toMatch(/header is truncated/);
  });

  it('data cut short, of a file whose size was not known in advance, names the tensor that runs past the end', async () => {
    const bytes = fixtureBytes(Q8);
    const { lastTensor } = await dataLayout(bytes);
    const cut = bytes.slice(0, bytes.length - 100);
    const e = await failure(loadGguf(unsized('cut.gguf', cut)));
    expect([e.file, e.tensor]).toEqual(['cut.gguf', lastTensor]);
    expect(e.message).toMatch(new RegExp(`file ends at byte ${cut.length}.*truncated`));
  });

  it('a tensor whose data overlaps another\'s', async () => {
    const bytes = fixtureBytes(Q8);
    const embd = await tensorFields(bytes, 'token_embd.weight');
    const norm = await tensorFields(bytes, 'output_norm.weight');
    setU64(bytes, norm.offset, getU64(bytes, embd.offset) + 32);
    const e = await failure(loadPath(tmp.write('overlap.gguf', bytes)));
    expect([e.file, e.tensor]).toEqual(['overlap.gguf', 'output_norm.weight']);
    expect(e.message).toMatch(/overlaps the data of token_embd.weight/);
  });
});
