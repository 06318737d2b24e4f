import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { forbidNetwork, storiesTokenizer, tok512Files } from './stories.ts';

forbidNetwork();

describe('Tokenizer', () => {
  it('rejects files that are not JSON objects', () => {
    expect(() => Tokenizer.fromJson(null, tok512Files.tokenizerConfig)).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJson(tok512Files.tokenizerJson, [])).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJson({ ...tok512Files.tokenizerJson, model: { type: 'Nope' } }, tok512Files.tokenizerConfig)).toThrow(TokenizerError);
  });

  it('rejects ids outside the vocabulary', () => {
    const tokenizer = storiesTokenizer();
    expect(tokenizer.decode([])).toBe('');
    expect(() => tokenizer.decode([512])).toThrow(TokenizerError);
    expect(() => tokenizer.decode([-1])).toThrow(TokenizerError);
    expect(() => tokenizer.decode([1.5])).toThrow(TokenizerError);
  });

  it('merges extra end-of-sequence ids from generation_config', () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, tok512Files.tokenizerConfig, { eosIds: [2, 13] });
    expect(tokenizer.eosIds).toEqual([2, 13]);
  });

  it('handles a tokenizer without BOS: no BOS by default, an error when one is asked for', () => {
    const tokenizer = Tokenizer.fromJson(
      { ...tok512Files.tokenizerJson, post_processor: null },
      { ...tok512Files.tokenizerConfig, bos_token: null, add_bos_token: false },
    );
    expect(tokenizer.bosId).toBeNull();
    expect(tokenizer.encode('Once')).toEqual([403]);
    expect(tokenizer.encode('Once', { addBos: false })).toEqual([403]);
    expect(() => tokenizer.encode('Once', { addBos: true })).toThrow(TokenizerError);
  });

  it('reads special tokens given as AddedToken objects', () => {
    const tokenizer = Tokenizer.fromJson(tok512Files.tokenizerJson, {
      ...tok512Files.tokenizerConfig,
      bos_token: { __type: 'AddedToken', content: '<s>' },
      eos_token: { __type: 'AddedToken', content: '</s>' },
    });
    expect([tokenizer.bosId, tokenizer.eosIds]).toEqual([1, [2]]);
  });
});
