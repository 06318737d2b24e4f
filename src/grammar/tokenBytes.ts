import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { partialTokenBytes } from './partialTokenBytes.ts';
import { TokenTrie } from './TokenTrie.ts';

const REPLACEMENT = '\ufffd';
const tries = new WeakMap<Tokenizer, TokenVocabulary>();

/** A tokenizer's tokens as a grammar sees them: each one's bytes, and their trie. */
export interface TokenVocabulary {
  bytes: readonly (Uint8Array | null)[];
  trie: TokenTrie;
}

/**
 * The bytes each token adds to the text, found through the tokenizer's own decoder (so that
 * SentencePiece's '▁' and byte-level BPE's byte alphabet need no rules here): a token decoded
 * after a fixed context token, less that context. A token holding part of a UTF-8 character
 * (SentencePiece's <0xE2>, a byte-level piece cut inside a character) decodes to U+FFFD; its
 * bytes are recovered by partialTokenBytes, so a grammar may write a character byte by byte.
 * Left out (null): special tokens (they decode to nothing when special tokens are skipped),
 * tokens that add nothing, and bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5-0xFF).
 */
export function tokenBytes(tokenizer: Tokenizer): (Uint8Array | null)[] {
  const context = tokenizer.encode('a', { addBos: false });
  const prefix = tokenizer.decode(context);
  const enc = new TextEncoder();
  const partial: number[] = [];
  const out = Array.from({ length: tokenizer.vocabSize }, (_, id): Uint8Array | null => {
    if (tokenizer.eosIds.includes(id) || id === tokenizer.bosId) return null;
    const text = tokenizer.decode([...context, id], { skipSpecial: true });
    if (text === prefix || !text.startsWith(prefix) || text !== tokenizer.decode([...context, id])) return null;
    const piece = text.slice(prefix.length);
    if (!piece.includes(REPLACEMENT)) return enc.encode(piece);
    partial.push(id);
    return null;
  });
  for (const [id, bytes] of partialTokenBytes(tokenizer, partial, context)) out[id] = bytes;
  return out;
}

/** The tokenizer's vocabulary for grammars, built on first use (one decode per token) and kept with it. */
export function vocabularyOf(tokenizer: Tokenizer): TokenVocabulary {
  let v = tries.get(tokenizer);
  if (!v) {
    const bytes = tokenBytes(tokenizer);
    tries.set(tokenizer, (v = { bytes, trie: new TokenTrie(bytes, tokenizer.vocabSize, tokenizer.eosIds) }));
  }
  return v;
}
