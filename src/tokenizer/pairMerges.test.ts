import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.ts';
import { withStringMerges } from './pairMerges.ts';

describe('withStringMerges', () => {
  it('joins merges written as pairs and leaves string merges alone', () => {
    const json = { model: { type: 'BPE', merges: [['a', 'b'], 'c d', ['ab', 'c']] } };
    expect(withStringMerges(json)).toEqual({ model: { type: 'BPE', merges: ['a b', 'c d', 'ab c'] } });
    const strings = { model: { merges: ['a b'] } };
    expect(withStringMerges(strings)).toBe(strings);
  });

  it('refuses a pair that has no string form', () => {
    expect(() => withStringMerges({ model: { merges: [['a b', 'c']] } })).toThrow(TokenizerError);
    expect(() => withStringMerges({ model: { merges: [['a', 'b', 'c']] } })).toThrow(/merge 0/);
  });
});
