import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGbnf } from '../../src/grammar/gbnf.ts';
import { Automaton, type ByteState, stepByte } from '../../src/grammar/Matcher.ts';
import { tokenBytes } from '../../src/grammar/tokenBytes.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';

/**
 * Tokens that hold part of a UTF-8 character (issue 16): their bytes are read back through the
 * decoder alone, and checked here against what the vocabulary's own spelling says they are.
 */
const read = (dir: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, file), 'utf8'));

/** GPT-2's byte alphabet: byte-level BPE spells byte b as the character unicodeOf[b]. */
const unicodeOf = (() => {
  const bs: number[] = [];
  for (let b = 0; b < 256; b++) if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) bs.push(b);
  const out = new Map<number, string>(bs.map((b) => [b, String.fromCodePoint(b)]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!out.has(b)) out.set(b, String.fromCodePoint(256 + n++));
  return out;
})();
const byteOf = new Map([...unicodeOf].map(([b, c]) => [c, b]));

/** What a vocabulary spells as a partial character: <0xHH>, or byte-level characters. Null for whole text. */
function partialBytes(spelling: string, byteLevel: boolean): number[] | null {
  const m = /^<0x([0-9A-F]{2})>$/.exec(spelling);
  const bytes = m ? [parseInt(m[1], 16)] : byteLevel && [...spelling].every((c) => byteOf.has(c)) ? [...spelling].map((c) => byteOf.get(c)!) : null;
  if (!bytes) return null;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    return null;
  } catch {
    return bytes;
  }
}

function check(tokenizer: Tokenizer, spellings: string[], byteLevel: boolean): number {
  const got = tokenBytes(tokenizer);
  let partial = 0;
  spellings.forEach((s, id) => {
    const want = partialBytes(s, byteLevel);
    if (!want) return;
    // Bytes no well-formed UTF-8 holds (C0, C1, F5-FF) are never written.
    if (want.some((b) => b === 0xc0 || b === 0xc1 || b >= 0xf5)) return expect(got[id]).toBeNull();
    partial++;
    expect(got[id] && [...got[id]!], s).toEqual(want);
  });
  return partial;
}

describe('token bytes of partial characters', () => {
  it('SentencePiece byte fallback (stories260K): every <0xHH> token is its byte', () => {
    const tj = read(DEFAULT_MODEL, 'tokenizer.json') as { model: { vocab: Record<string, number> } };
    const spellings = Object.entries(tj.model.vocab).sort((a, b) => a[1] - b[1]).map(([s]) => s);
    expect(check(Tokenizer.fromJson(tj, read(DEFAULT_MODEL, 'tokenizer_config.json')), spellings, false)).toBe(128 - 13);
  });

  it('byte-level BPE: single bytes (qwen2-tiny) and pieces cut inside a character (merged lead or continuation bytes)', () => {
    const dir = join(SHARED, 'models', 'gguf', 'qwen2-tiny-hf');
    const tj = read(dir, 'tokenizer.json') as { model: { vocab: Record<string, number> } };
    const spellings = Object.entries(tj.model.vocab).sort((a, b) => a[1] - b[1]).map(([s]) => s);
    expect(check(Tokenizer.fromJson(tj, read(dir, 'tokenizer_config.json')), spellings, true)).toBeGreaterThan(100);
    // A tiny byte-level BPE whose merges make tokens of E4 B8 (a lead and a continuation of 一),
    // B8 80 (its last two bytes) and "a" + E4 (text, then a cut character).
    const spell = (bytes: number[]) => bytes.map((b) => unicodeOf.get(b)!).join('');
    const singles = [...unicodeOf.values()];
    const merged = [[0xe4, 0xb8], [0xb8, 0x80], [0x61, 0xe4]].map(spell);
    const vocab = Object.fromEntries([...singles, ...merged].map((s, i) => [s, i]));
    const merges = [[0xe4, 0xb8], [0xb8, 0x80], [0x61, 0xe4]].map((p) => p.map((b) => unicodeOf.get(b)!).join(' '));
    const json = {
      version: '1.0', added_tokens: [], normalizer: null, post_processor: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
    };
    const small = Tokenizer.fromJson(json, { tokenizer_class: 'GPT2Tokenizer' });
    const spellingsSmall = [...singles, ...merged];
    expect(check(small, spellingsSmall, true)).toBe(128 - 13 + 3);
  });

  it('the matcher takes well-formed UTF-8 only: no overlong forms, surrogates or code points past U+10FFFF', () => {
    const a = new Automaton(parseGbnf('root ::= [^x]*'));
    const live = (bytes: number[]) => {
      let st: ByteState = { set: a.start, acc: 0, need: 0 };
      for (const b of bytes) if ((st = stepByte(a, st, b)).set === 0) return false;
      return true;
    };
    for (const ok of [[0xc3, 0xa9], [0xe4, 0xb8, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]) expect(live(ok), String(ok)).toBe(true);
    for (const bad of [[0xc0], [0xc1], [0xe0, 0x9f], [0xed, 0xa0], [0xf0, 0x8f], [0xf4, 0x90], [0xf5], [0x80], [0xc3, 0x41]]) expect(live(bad), String(bad)).toBe(false);
  });
});
