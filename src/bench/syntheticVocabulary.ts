import type { TokenVocabulary } from '../grammar/tokenBytes.ts';
import { TokenTrie } from '../grammar/TokenTrie.ts';
import { prng } from './stats.ts';

/**
 * A byte-level-BPE-like vocabulary of `size` tokens: the 256 bytes, then words with and without
 * a leading space, digit runs and punctuation clusters (JSON's among them), as a trained
 * vocabulary of that size has them; no tokenizer is needed to mask over it.
 */
export function syntheticVocabulary(size: number, seed = 5): TokenVocabulary {
  const rand = prng(seed);
  const seen = new Set<string>();
  const bytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
  const enc = new TextEncoder();
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const pick = (s: string) => s[Math.floor(rand() ** 1.7 * s.length)];
  const punct = ['"', ':', ',', '{', '}', '[', ']', '.', '!', '?', "'", '(', ')', '-', '\n', '  '];
  while (bytes.length < size) {
    const r = rand();
    let t: string;
    if (r < 0.08) t = String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 3))));
    else if (r < 0.14) t = Array.from({ length: 2 + Math.floor(rand() * 2) }, () => punct[Math.floor(rand() * punct.length)]).join('');
    else {
      const w = Array.from({ length: 2 + Math.floor(rand() * rand() * 10) }, () => pick(letters)).join('');
      t = (rand() < 0.6 ? ' ' : '') + (rand() < 0.1 ? w[0].toUpperCase() + w.slice(1) : w);
    }
    if (seen.has(t)) continue;
    seen.add(t);
    bytes.push(enc.encode(t));
  }
  const eos = size - 1;
  const all: (Uint8Array | null)[] = [...bytes];
  all[eos] = null;
  return { bytes: all, trie: new TokenTrie(all, size, [eos]) };
}
