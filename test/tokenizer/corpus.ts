import { Rng } from '../../src/sampling/Rng.ts';
import { greedyFixture } from './stories.ts';

/** Strings to tokenize, by kind. None holds NUL (a C string ends there) or U+2581 (see the divergence test). */

const storySentences = greedyFixture.text.split(/(?<=[.!?"])\s+/);

export const stories: string[] = [
  'Once upon a time',
  'Once upon a time, there was a little girl named Lily.',
  greedyFixture.text,
  ...storySentences,
  'The cat sat on the mat. "Hello!" said Tom. He was very happy.',
  "Lily's mom said, \"Let's go to the park.\" They played all day.",
  'One day, a big dog saw a red ball. It wanted to play with it.',
  'x',
  'a',
  'the',
  ' the',
  'The',
  'Ben and Mia were best friends. They liked to share their toys and snacks.',
  'Numbers: 0 1 2 3 42 1234567890 3.14159 -7 +8 100%',
  'Punctuation: ... ?! ;: () [] {} <> | ~ @ # $ ^ & * _ = / \\ `',
];

export const unicode: string[] = [
  'café', 'naïve façade', 'Ångström', 'über straße', 'résumé', 'São Paulo', 'Crème brûlée',
  'Привет, мир!', 'Москва', 'ёжик в тумане',
  '日本語のテキスト', '你好，世界', '한국어', 'ไทย', 'עברית', 'العربية', 'हिन्दी', 'Ελληνικά',
  '“quoted” ‘single’ — dash – en … ellipsis ™ € â',
  '\u200a hair space', 'mixed ascii 中文 and русский',
];

export const emoji: string[] = [
  '😀', '😀😃😄', 'I love 🍕!', '👍🏽 skin tone', '🇫🇷 flag', '🏳️‍🌈 rainbow flag',
  '👨‍👩‍👧‍👦 family', '👩‍💻 technologist', '❤️ heart with VS16', '🫠', '#️⃣ keycap', 'a😀b😀c',
];

/** Characters the 512-token vocabulary lacks, so they go through byte fallback. */
export const byteFallback: string[] = [
  '\n', 'line one\nline two', '\r\n', '\u0001\u0002\u007f', '\u00a0nbsp', '©®', '½ ¼', 'ß', '\uFFFD',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\u{10FFFF}', '\u0301 combining', 'e\u0301', '\u200b\u200c\u200d zero widths', '\ufeffBOM',
];

export const whitespace: string[] = [
  ' ', '  ', '    ', ' a', 'a ', ' a ', '  leading two', 'trailing two  ', 'a  b   c    d',
  '\t', '\ttab', 'a\tb', ' \t \n ', '\n\n', '\n\n\nthree newlines', 'end with newline\n', ' \n x \n ',
];

export const empty: string[] = [''];

/** A seeded PRNG (the project's Rng), so the random strings are the same on every run. */
export function seededRandom(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const ATOMS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' ,.!?"\'-:;()\n\t',
  ' ', ' ', ' ', 'the ', ' was', 'ing', 'ed', ' and', 'Lily', 'é', 'ñ', 'ü', '日', 'Я', 'ж', '😀', '👍🏽', '\u200d', '€', '©',
];

/** Random strings of story-ish atoms, spaces and odd characters. */
export function randomStrings(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const length = Math.floor(rand() * 24);
    let s = '';
    for (let i = 0; i < length; i++) s += ATOMS[Math.floor(rand() * ATOMS.length)];
    out.push(s);
  }
  return out;
}

/** Random code points from the whole of Unicode (no surrogates, no NUL, no U+2581). */
export function randomCodePoints(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const length = 1 + Math.floor(rand() * 8);
    let s = '';
    while (s.length < length) {
      // favour the planes that matter: ASCII, Latin/Cyrillic, CJK, then anything
      const band = rand();
      const cp = band < 0.4 ? 1 + Math.floor(rand() * 127) : band < 0.6 ? 0x80 + Math.floor(rand() * 0x780) : band < 0.8 ? 0x4e00 + Math.floor(rand() * 0x5200) : 1 + Math.floor(rand() * 0x10ffff);
      if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2581) continue;
      s += String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}

export const corpus: Record<string, string[]> = {
  stories, unicode, emoji, byteFallback, whitespace, empty,
  random: randomStrings(200, 2024),
  randomCodePoints: randomCodePoints(100, 7),
};

export const allStrings: string[] = Object.values(corpus).flat();
