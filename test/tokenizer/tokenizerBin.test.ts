import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { parseTokenizerBin } from '../../src/model/llama2c/tokenizerBin.ts';
import { tok512Bytes } from './stories.ts';

/** A tokenizer.bin from pieces, for malformed variants. */
function binOf(maxTokenLength: number, entries: { score: number; bytes: number[]; claimed?: number }[]): Uint8Array {
  const size = 4 + entries.reduce((n, e) => n + 8 + e.bytes.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, maxTokenLength, true);
  let at = 4;
  for (const e of entries) {
    view.setFloat32(at, e.score, true);
    view.setInt32(at + 4, e.claimed ?? e.bytes.length, true);
    out.set(e.bytes, at + 8);
    at += 8 + e.bytes.length;
  }
  return out;
}

describe('parseTokenizerBin', () => {
  it('reads stories260K tok512.bin', () => {
    const { maxTokenLength, pieces } = parseTokenizerBin(tok512Bytes());
    expect(maxTokenLength).toBe(7);
    expect(pieces).toHaveLength(512);
    expect(pieces.slice(0, 4).map((p) => p.text)).toEqual(['<unk>', '\n<s>\n', '\n</s>\n', '<0x00>']);
    expect(pieces[258].text).toBe('<0xFF>');
    expect(pieces[259]).toEqual({ text: ' t', score: -0 });
    expect(pieces[260]).toEqual({ text: 'he', score: -1 });
    expect(pieces[511].text).toBe('\u200a');
  });

  it('reads a piece at an offset into a larger buffer', () => {
    const bytes = tok512Bytes();
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(parseTokenizerBin(padded.subarray(3)).pieces).toHaveLength(512);
  });

  const bad: [string, Uint8Array][] = [
    ['an empty file', new Uint8Array(0)],
    ['a header only', binOf(4, [])],
    ['a zero max_token_length', binOf(0, [{ score: 0, bytes: [97] }])],
    ['a cut entry header', tok512Bytes().subarray(0, 4 + 5)],
    ['cut piece bytes', tok512Bytes().subarray(0, tok512Bytes().length - 1)],
    ['a negative length', binOf(4, [{ score: 0, bytes: [], claimed: -1 }])],
    ['a length beyond max_token_length', binOf(2, [{ score: 0, bytes: [97, 98, 99] }])],
    ['a NaN score', binOf(4, [{ score: NaN, bytes: [97] }])],
    ['invalid UTF-8', binOf(4, [{ score: 0, bytes: [0xff, 0xfe] }])],
  ];
  for (const [what, bytes] of bad) {
    it(`rejects ${what} with a TokenizerError`, () => {
      expect(() => parseTokenizerBin(bytes)).toThrow(TokenizerError);
    });
  }
});
