import { describe, expect, it } from 'vitest';
import { forbidNetwork, greedyFixture, storiesTokenizer } from './stories.ts';

forbidNetwork();

describe('stories260K greedy fixture', () => {
  const tokenizer = storiesTokenizer();

  it('encodes the prompt with BOS as the fixture\'s first positions', () => {
    const ids = tokenizer.encode(greedyFixture.prompt, { addBos: true });
    expect(greedyFixture.prompt).toBe('Once upon a time');
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(greedyFixture.next_ids.slice(0, ids.length - 1));
    expect(ids).toEqual([1, 403, 407, 261, 378]);
  });

  it('decodes the fixture ids to its text', () => {
    expect(tokenizer.decode([1, ...greedyFixture.next_ids], { skipSpecial: true })).toBe(greedyFixture.text);
  });

  it('re-encodes the fixture text to the fixture ids', () => {
    expect(tokenizer.encode(greedyFixture.text, { addBos: true })).toEqual([1, ...greedyFixture.next_ids]);
  });

  it('knows its special ids and size', () => {
    expect(tokenizer.bosId).toBe(1);
    expect(tokenizer.eosIds).toEqual([2]);
    expect(tokenizer.vocabSize).toBe(512);
  });
});
