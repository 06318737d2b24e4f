import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
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
 * after a fixed context token, less that context. Left out (null): special tokens (they decode
 * to nothing when special tokens are skipped), tokens that add nothing, and tokens that decode
 * to U+FFFD: a byte of a split UTF-8 character (SentencePiece's <0x80>..<0xFF>, partial
 * byte-level pieces), whose byte the decoder does not expose. A constrained request so never
 * writes such a character byte by byte; whole-character tokens still write it.
 */
export function tokenBytes(tokenizer: Tokenizer): (Uint8Array | null)[] {
  const context = tokenizer.encode('a', { addBos: false });
  const prefix = tokenizer.decode(context);
  const enc = new TextEncoder();
  return Array.from({ length: tokenizer.vocabSize }, (_, id) => {
    if (tokenizer.eosIds.includes(id) || id === tokenizer.bosId) return null;
    const text = tokenizer.decode([...context, id], { skipSpecial: true });
    if (text === prefix || !text.startsWith(prefix) || text !== tokenizer.decode([...context, id])) return null;
    const piece = text.slice(prefix.length);
    return piece.includes(REPLACEMENT) ? null : enc.encode(piece);
  });
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
