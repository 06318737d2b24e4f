import { describe, expect, it } from 'vitest';
import { boundBpeCache } from '../../src/tokenizer/boundBpeCache.ts';
import { storiesTokenizer } from './stories.ts';

describe('boundBpeCache', () => {
  it('empties the cache once its keys pass the budget', () => {
    const fake = { model: { cache: new Map<string, string[]>() } };
    boundBpeCache(fake);
    const cache = fake.model.cache;
    cache.set('a'.repeat(600_000), ['a']);
    cache.set('b', ['b']);
    expect(cache.size).toBe(2);
    cache.set('c'.repeat(600_000), ['c']);
    expect([...cache.keys()].map((k) => k[0])).toEqual(['c']);
    cache.set('d'.repeat(2_000_000), ['d']);
    expect(cache.has('d'.repeat(2_000_000))).toBe(false);
  });

  it('leaves the tokenizer working', () => {
    const tokenizer = storiesTokenizer();
    expect(tokenizer.encode('Once upon a time', { addBos: true })).toEqual([1, 403, 407, 261, 378]);
    expect(tokenizer.encode('Once upon a time', { addBos: true })).toEqual([1, 403, 407, 261, 378]);
  });
});
