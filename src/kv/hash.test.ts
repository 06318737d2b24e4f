import { describe, expect, it } from 'vitest';
import { digestToHex, hashBlock, murmur3x86_128, saltDigest } from './hash.ts';

// Reference values from the C MurmurHash3_x86_128 over the bytes of these little-endian words.
const words = Array.from({ length: 40 }, (_, i) => (Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0);
const vectors: Array<[number, number, string]> = [
  [0, 0, '00000000000000000000000000000000'],
  [1, 0, '4a6140475a8a9e265a8a9e265a8a9e26'],
  [2, 0, '8eddd7c3254bf0518a08c95f8a08c95f'],
  [3, 0, '8ffa447ac96a5da6fddc1a0ab5d57c39'],
  [4, 0, '7ecbd821e0a410b6899be4b648f84674'],
  [5, 0, '0da2528827a34ae80fc7afd561e62e9d'],
  [7, 0, 'a06439f396ec901cf78f269807465307'],
  [8, 0, '4bacbaf4161c4da57a404f1ced11c3c7'],
  [24, 0, '9765e1ee6f69dfb997efcf8b56192591'],
  [0, 42, 'af6d2cb695c80cba95c80cba95c80cba'],
  [3, 42, '61021dd7c9ae8f0f9ba732b1c3ef338e'],
  [5, 42, 'e9f882c656221dc0a5759c6d72a4c730'],
  [24, 42, '650bf0b85b44e11f0260082d2fad5f8c'],
];

describe('murmur3x86_128', () => {
  it.each(vectors)('matches the reference for %i words, seed %i', (n, seed, hex) => {
    expect(digestToHex(murmur3x86_128(Uint32Array.from(words.slice(0, n)), seed))).toBe(hex);
  });

  it('avalanches: flipping one input bit flips about half the output bits', () => {
    let flips = 0;
    let trials = 0;
    for (let bit = 0; bit < 32 * 8; bit++) {
      const a = Uint32Array.from(words.slice(0, 8));
      const b = Uint32Array.from(a);
      b[bit >> 5] ^= 1 << (bit & 31);
      const ha = murmur3x86_128(a);
      const hb = murmur3x86_128(b);
      for (let w = 0; w < 4; w++) flips += popcount(ha[w] ^ hb[w]);
      trials++;
    }
    const mean = flips / trials / 128;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('hashBlock', () => {
  const salt = saltDigest('model-a');
  const tokens = Array.from({ length: 32 }, (_, i) => i * 7);

  it('depends on the parent, the tokens and the salt', () => {
    const h = hashBlock(null, salt, tokens, 0, 16);
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(hashBlock(null, salt, tokens, 0, 16)).toBe(h);
    expect(hashBlock(h, salt, tokens, 0, 16)).not.toBe(h);
    expect(hashBlock(null, saltDigest('model-b'), tokens, 0, 16)).not.toBe(h);
    expect(hashBlock(null, salt, tokens, 16, 32)).not.toBe(h);
  });

  it('gives no collisions over many small blocks', () => {
    const seen = new Set<string>();
    for (let a = 0; a < 100; a++) for (let b = 0; b < 100; b++) seen.add(hashBlock(null, salt, [a, b], 0, 2));
    expect(seen.size).toBe(10_000);
  });
});

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}
