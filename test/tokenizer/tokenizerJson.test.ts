import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { buildTokenizerFiles } from '../../src/model/llama2c/tokenizerJson.ts';
import { tok512, tok512Files } from './stories.ts';

const { tokenizerJson, tokenizerConfig } = tok512Files;

describe('buildTokenizerFiles', () => {
  it('keeps llama2.c ids, with specials named and spaces as U+2581', () => {
    const { vocab } = tokenizerJson.model;
    expect(Object.keys(vocab)).toHaveLength(512);
    expect([vocab['<unk>'], vocab['<s>'], vocab['</s>']]).toEqual([0, 1, 2]);
    expect(vocab['<0x00>']).toBe(3);
    expect(vocab['<0x0A>']).toBe(13);
    expect(vocab['<0xFF>']).toBe(258);
    expect(vocab['\u2581t']).toBe(259);
    expect(vocab['\u2581']).toBe(410);
    expect(Object.keys(vocab).some((p) => p.includes(' '))).toBe(false);
  });

  it('ranks merges by the id of their result, then by (left id, right id)', () => {
    const { vocab, merges } = tokenizerJson.model;
    const key = (m: string) => {
      const [l, r] = m.split(' ');
      return [vocab[l + r], vocab[l], vocab[r]];
    };
    expect(merges[0]).toBe('\u2581 t');
    for (let i = 1; i < merges.length; i++) {
      const [a, b] = [key(merges[i - 1]), key(merges[i])];
      expect(a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2]))), `${merges[i - 1]} before ${merges[i]}`).toBe(true);
    }
    // every split of '▁the' into two pieces of the vocabulary
    expect(merges.filter((m) => m.replace(' ', '') === '\u2581the')).toEqual(['\u2581t he', '\u2581th e']);
  });

  it('writes a Llama-style pipeline and config', () => {
    expect(tokenizerJson.model).toMatchObject({ type: 'BPE', byte_fallback: true, unk_token: '<unk>', fuse_unk: true });
    expect(tokenizerJson.pre_tokenizer).toBeNull();
    expect(tokenizerJson.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([[0, '<unk>', true], [1, '<s>', true], [2, '</s>', true]]);
    expect(tokenizerConfig).toMatchObject({
      tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>',
      add_bos_token: true, add_eos_token: false, legacy: true, model_max_length: 512,
    });
    expect('chat_template' in tokenizerConfig).toBe(false);
    // round-trips through JSON, as the converter writes it
    expect(JSON.parse(JSON.stringify(tokenizerJson))).toEqual(tokenizerJson);
  });

  it('rejects a vocabulary without llama2.c\'s byte tokens at 3..258', () => {
    const pieces = tok512.pieces.map((p) => ({ ...p }));
    pieces[100].text = 'oops';
    expect(() => buildTokenizerFiles({ ...tok512, pieces })).toThrow(TokenizerError);
    expect(() => buildTokenizerFiles({ ...tok512, pieces: tok512.pieces.slice(0, 200) })).toThrow(TokenizerError);
  });

  it('rejects duplicate pieces and scores that rise with id', () => {
    const dup = tok512.pieces.map((p) => ({ ...p }));
    dup[300].text = dup[301].text;
    expect(() => buildTokenizerFiles({ ...tok512, pieces: dup })).toThrow(/appears twice/);
    const rising = tok512.pieces.map((p) => ({ ...p }));
    rising[300].score = 10;
    expect(() => buildTokenizerFiles({ ...tok512, pieces: rising })).toThrow(/scores above/);
  });
});
