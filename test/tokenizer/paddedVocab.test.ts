import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../../src/errors.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { DEFAULT_MODEL } from '../paths.ts';

describe('a model vocabulary padded past the tokenizer', () => {
  it('padding ids the model may generate decode to nothing, as Hugging Face tokenizers skip them; others are refused', () => {
    const json = JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8'));
    const padded = Tokenizer.fromJson(json, config, { modelVocabSize: 576 });
    const plain = Tokenizer.fromJson(json, config);
    expect(padded.decode([300, 530, 301, 575])).toBe(plain.decode([300, 301]));
    expect(padded.decode([540])).toBe('');
    expect(() => padded.decode([576])).toThrow(TokenizerError);
    expect(() => plain.decode([530])).toThrow(TokenizerError);
  });
});
