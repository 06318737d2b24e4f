import { describe, expect, it } from 'vitest';
import { StreamDecoder } from '../../src/tokenizer/StreamDecoder.ts';
import { allStrings } from './corpus.ts';
import { forbidNetwork, greedyFixture, storiesTokenizer } from './stories.ts';

forbidNetwork();
const tokenizer = storiesTokenizer();

function streamAll(decoder: StreamDecoder, ids: readonly number[]): string[] {
  const parts = ids.map((id) => decoder.push(id));
  parts.push(decoder.flush());
  return parts;
}

describe('StreamDecoder', () => {
  it('streams text whose concatenation is decode(all), with and without special tokens', () => {
    for (const s of allStrings) {
      const ids = [...tokenizer.encode(s, { addBos: true }), 2];
      for (const skipSpecial of [false, true]) {
        const parts = streamAll(tokenizer.streamDecoder({ skipSpecial }), ids);
        expect(parts.join(''), JSON.stringify(s)).toBe(tokenizer.decode(ids, { skipSpecial }));
      }
    }
  });

  it('streams the fixture text token by token', () => {
    const ids = [1, ...greedyFixture.next_ids];
    const parts = streamAll(tokenizer.streamDecoder({ skipSpecial: true }), ids);
    expect(parts.join('')).toBe(greedyFixture.text);
    // after BOS the first word has no leading space; later words keep theirs
    expect(parts.slice(0, 5)).toEqual(['', 'Once', ' upon', ' a', ' time']);
  });

  it('holds back a character split over byte tokens until it is complete', () => {
    const ids = tokenizer.encode('a😀b', { addBos: false });
    // ▁a, four bytes of U+1F600, b
    expect(ids.length).toBe(6);
    const parts = streamAll(tokenizer.streamDecoder(), ids);
    expect(parts).toEqual(['a', '', '', '', '😀', 'b', '']);
  });

  it('flushes an unfinished character as U+FFFD', () => {
    const ids = tokenizer.encode('😀', { addBos: false }).slice(0, 3);
    const decoder = tokenizer.streamDecoder();
    expect(ids.map((id) => decoder.push(id)).join('')).toBe('');
    expect(decoder.flush()).toBe('\uFFFD');
  });

  it('keeps the leading space of the first streamed token when given the prompt as context', () => {
    const prompt = tokenizer.encode('Once upon a time', { addBos: true });
    const generated = tokenizer.encode('Once upon a time there was a dog', { addBos: true }).slice(prompt.length);
    const parts = streamAll(tokenizer.streamDecoder({ skipSpecial: true, context: prompt }), generated);
    expect(parts.join('')).toBe(' there was a dog');
    expect(parts[0]).toBe(' there');
  });
});
