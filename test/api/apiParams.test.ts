import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/engine/GenerationRequest.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { Rng } from '../../src/sampling/Rng.ts';

/** The error parseRequest throws for `params`. */
function refusal(params: unknown): InvalidParamsError {
  try {
    parseRequest(params);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParamsError);
    return e as InvalidParamsError;
  }
  throw new Error(`accepted ${String(params)}`);
}

/** mulberry32 as Folio shipped it: seeds below 2^32 must keep drawing exactly this. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const draws = (r: { next(): number } | (() => number), n = 8) => Array.from({ length: n }, () => (typeof r === 'function' ? r() : r.next()));

describe('request parameters: every bad value is a typed error that shows the value', () => {
  it('prompt: null is an InvalidParamsError naming prompt', () => {
    expect(refusal({ prompt: null })).toMatchObject({ param: 'prompt', message: 'prompt: must be a string, got null' });
  });

  it('NaN and Infinity are shown as such, not as null', () => {
    expect(refusal({ prompt: 'x', temperature: NaN }).message).toBe('temperature: must be a number, got NaN');
    expect(refusal({ prompt: 'x', max_tokens: Infinity }).message).toBe('max_tokens: must be an integer >= 1, got Infinity');
    expect(refusal({ prompt: 'x', top_p: -Infinity }).message).toBe('top_p: must be a number, got -Infinity');
    expect(refusal({ prompt: 'x', n: NaN }).message).toBe('n: must be an integer >= 1, got NaN');
  });

  it('a BigInt is refused by name, not with JSON\'s TypeError', () => {
    expect(refusal({ prompt: 'x', seed: 10n }).message).toBe('seed: must be an integer from -(2^53 - 1) to 2^53 - 1, got 10n');
    expect(refusal({ messages: [{ role: 'user', content: 1n }] }).message).toBe('messages[0].content: must be a string, got 1n');
  });

  it('a seed past 2^53 is refused: it cannot be told from its neighbours', () => {
    expect(refusal({ prompt: 'x', seed: 2 ** 53 }).param).toBe('seed');
    expect(parseRequest({ prompt: 'x', seed: 2 ** 53 - 1 }).sampling.seed).toBe(2 ** 53 - 1);
  });
});

describe('Rng uses the whole seed', () => {
  it('seeds that agree below 2^32 draw differently', () => {
    const base = draws(new Rng(1));
    for (const seed of [2 ** 32 + 1, 2 ** 40 + 1, 2 ** 53 - 2 ** 32 + 1, 1 - 2 ** 32]) expect(draws(new Rng(seed))).not.toEqual(base);
    expect(draws(new Rng(2 ** 33 + 7))).not.toEqual(draws(new Rng(2 ** 34 + 7)));
  });

  it('an offset is added exactly, where seed + offset would round', () => {
    const g = 0x9e3779b9;
    for (const [seed, k] of [[0, 1], [7, 3], [2 ** 32 - 1, 63], [2 ** 40, 5]]) expect(draws(new Rng(seed, k * g))).toEqual(draws(new Rng(seed + k * g)));
    // 2^53 - 1 + g and 2^53 - 2 + g are one double; the exact sums differ.
    expect(2 ** 53 - 1 + g).toBe(2 ** 53 - 2 + g);
    expect(draws(new Rng(2 ** 53 - 1, g))).not.toEqual(draws(new Rng(2 ** 53 - 2, g)));
  });

  it('seeds below 2^32 draw exactly as before', () => {
    for (const seed of [0, 1, 42, 2 ** 31, 2 ** 32 - 1]) expect(draws(new Rng(seed))).toEqual(draws(mulberry32(seed)));
  });
});
