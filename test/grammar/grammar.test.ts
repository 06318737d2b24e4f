import Ajv from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GrammarError } from '../../src/errors.ts';
import { ARITHMETIC_GBNF } from '../../src/grammar/exampleSchemas.ts';
import { parseGbnf } from '../../src/grammar/gbnf.ts';
import { jsonObjectGbnf, schemaToGbnf } from '../../src/grammar/jsonSchema.ts';
import { Automaton, type ByteState, pack, stepByte } from '../../src/grammar/Matcher.ts';
import { walkAll } from '../../src/grammar/trieWalks.ts';
import { integerRange, numberRangeInclusive } from '../../src/grammar/numberRange.ts';
import { TokenMasker } from '../../src/grammar/TokenMasker.ts';
import { TokenTrie } from '../../src/grammar/TokenTrie.ts';
import { allowed } from '../../src/sampling/logitAdjustments.ts';

/** Runs bytes through a fresh automaton of `gbnf`: the end state, or null once it dies. */
function run(a: Automaton, bytes: Uint8Array, from: ByteState = { set: a.start, acc: 0, need: 0 }): ByteState | null {
  let st = from;
  for (const b of bytes) {
    st = stepByte(a, st, b);
    if (st.set === 0) return null;
  }
  return st;
}
const enc = new TextEncoder();
function matcher(gbnf: string): (text: string) => boolean {
  const a = new Automaton(parseGbnf(gbnf));
  return (text) => {
    const st = run(a, enc.encode(text));
    return st !== null && st.need === 0 && a.accepts(st.set);
  };
}

describe('GBNF', () => {
  it('parses llama.cpp notation and matches exactly its language (arithmetic)', () => {
    const m = matcher(ARITHMETIC_GBNF);
    for (const ok of ['1', '12+3', '(1+2)*3', '((7))', '1*2/3-4', '999']) expect(m(ok), ok).toBe(true);
    for (const bad of ['', '0', '1+', '(1', '1)', '1000', '1++2', '1+2+3+4+5', 'a']) expect(m(bad), bad).toBe(false);
  });

  it('escapes, classes, any-character, bounded repetition, comments and multi-line rules', () => {
    const m = matcher(`root ::= "\\x41\\u00e9" [^a-c\\n]{2,3} . # comment
      ( "x" |
        "y" )+`);
    expect(m('Aéde€x')).toBe(true);
    expect(m('Aéd€xz')).toBe(false); // "d€" + "x" leaves "z", "d€x" + "z" leaves no x|y
    expect(m('Aédd€yyx')).toBe(true);
    expect(m('Aéad€x')).toBe(false);
    expect(m('Aéd€')).toBe(false);
  });

  it('refuses what it cannot build, naming the construct', () => {
    const construct = (g: string) => {
      try {
        parseGbnf(g);
      } catch (e) {
        expect(e).toBeInstanceOf(GrammarError);
        return (e as GrammarError).construct;
      }
      return null;
    };
    expect(construct('root ::= expr\nexpr ::= expr "+" "1" | "1"')).toBe('left recursion');
    expect(construct('root ::= x')).toBe('undefined rule');
    expect(construct('start ::= "a"')).toBe('missing root');
    expect(construct('root ::= "a" )')).toBe('group');
    expect(construct('root ::= "a" \\q')).toBe('syntax');
    expect(construct('root ::= "\\q"')).toBe('escape');
  });
});

describe('JSON schema compiler', () => {
  it('integer ranges hold by construction (any bounds, either sign)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2000, max: 2000 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: -5000, max: 5000 }), (min, width, x) => {
        const m = matcher(`root ::= ${integerRange(min, min + width).join(' | ')}`);
        expect(m(String(x))).toBe(x >= min && x <= min + width);
      }),
      { numRuns: 60 },
    );
  });

  it('number ranges with integer bounds admit exactly the decimals inside', () => {
    fc.assert(
      fc.property(fc.integer({ min: -60, max: 60 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: -9000, max: 9000 }), (min, width, hundredths) => {
        const m = matcher(`root ::= ${numberRangeInclusive(min, min + width).join(' | ')}`);
        const x = hundredths / 100;
        const text = Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/0$/, '');
        expect(m(text), text).toBe(x >= min && x <= min + width);
      }),
      { numRuns: 60 },
    );
  });

  it('number ranges with any bounds (fractions, exclusive, one side) admit exactly what Ajv accepts, up to 6 fraction digits', () => {
    const ajv = new Ajv({ strict: false });
    // Bounds of up to 3 fraction digits either sign; candidates near them, written as a model would.
    const bound = fc.option(fc.record({ value: fc.integer({ min: -3000, max: 3000 }).map((n) => n / 1000), exclusive: fc.boolean() }), { nil: undefined });
    const text = fc.tuple(fc.integer({ min: -4000000, max: 4000000 }), fc.integer({ min: 0, max: 6 })).map(([micro, digits]) => {
      const t = (micro / 1e6).toFixed(digits);
      return /^-0(\.0*)?$/.test(t) ? t.slice(1) : t;
    });
    fc.assert(
      fc.property(bound, bound, fc.array(text, { minLength: 6, maxLength: 6 }), (lo, hi, texts) => {
        const schema: Record<string, unknown> = { type: 'number' };
        if (lo) schema[lo.exclusive ? 'exclusiveMinimum' : 'minimum'] = lo.value;
        if (hi) schema[hi.exclusive ? 'exclusiveMaximum' : 'maximum'] = hi.value;
        if (lo && hi && (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive)))) return;
        const m = matcher(schemaToGbnf(schema));
        const validate = ajv.compile(schema);
        const near = [lo, hi].flatMap((b) => (b ? [b.value, b.value + 0.000001, b.value - 0.000001, b.value + 0.5] : [])).map((v) => String(Math.round(v * 1e6) / 1e6));
        for (const t of [...texts, ...near].filter((t) => !t.includes('e'))) expect(m(t), `${JSON.stringify(schema)} ${t}`).toBe(validate(JSON.parse(t)));
      }),
      { numRuns: 80 },
    );
  });

  it('patterns match as ECMAScript regexes do, over JSON-safe strings', () => {
    const patterns = ['^[A-Z]{3}-[0-9]{2,4}$', '^(ab|c)+d?$', '^\\d\\w\\s?x$', '^a.c$', '^[^x-z]*$', 'b{2}'];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.string({ unit: fc.constantFrom('A', 'B', 'Z', '-', '1', '9', 'a', 'b', 'c', 'd', 'x', ' ', '_'), maxLength: 9 }), (pattern, s) => {
        const m = matcher(schemaToGbnf({ type: 'string', pattern }));
        expect(m(JSON.stringify(s)), `${pattern} ${s}`).toBe(new RegExp(pattern, 'u').test(s));
      }),
      { numRuns: 300 },
    );
  });

  it('objects: required properties present, optional ones optional, no others, in order', () => {
    const m = matcher(schemaToGbnf({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'boolean' }, c: { type: 'null' } }, required: ['b'], additionalProperties: false }));
    for (const ok of ['{"b":true}', '{"a":1,"b":false}', '{"b":true,"c":null}', '{"a":-3,"b":true,"c":null}']) expect(m(ok), ok).toBe(true);
    for (const bad of ['{}', '{"a":1}', '{"b":true,"d":1}', '{"b":true,}', '{,"b":true}', '{"b":true,"a":1}']) expect(m(bad), bad).toBe(false);
  });

  it('arrays honour minItems and maxItems; enums and const are literal', () => {
    const m = matcher(schemaToGbnf({ type: 'array', items: { enum: ['x', 2, null] }, minItems: 1, maxItems: 3 }));
    for (const ok of ['["x"]', '[2,null,"x"]']) expect(m(ok), ok).toBe(true);
    for (const bad of ['[]', '[2,2,2,2]', '["y"]', '[2,]']) expect(m(bad), bad).toBe(false);
    expect(matcher(schemaToGbnf({ const: { k: [1] } }))('{"k":[1]}')).toBe(true);
  });

  it('json_object: any object, no other value', () => {
    const m = matcher(jsonObjectGbnf());
    expect(m('{"a":[1,2.5e3,{"b":null}],"c":"x\\"y\\u00e9"}')).toBe(true);
    expect(m('[1]')).toBe(false);
    expect(m('{"a":1')).toBe(false);
  });

  it('refuses unsupported keywords and pattern constructs by name', () => {
    const construct = (schema: object) => {
      try {
        schemaToGbnf(schema);
      } catch (e) {
        expect(e).toBeInstanceOf(GrammarError);
        return (e as GrammarError).construct;
      }
      return null;
    };
    expect(construct({ oneOf: [{ type: 'string' }] })).toBe('oneOf');
    expect(construct({ type: 'string', format: 'date' })).toBe('format');
    expect(construct({ type: 'array', uniqueItems: true })).toBe('uniqueItems');
    expect(construct({ type: 'string', pattern: '(a)\\1' })).toBe('pattern a backreference');
    expect(construct({ type: 'string', pattern: 'a(?!b)' })).toBe('pattern lookaround (?=, ?!, ?<=, ?<!)');
    expect(construct({ type: 'string', pattern: '\\bword' })).toBe('pattern a word boundary (\\b, \\B)');
    expect(construct({ type: 'number', exclusiveMinimum: 0.1234561, exclusiveMaximum: 0.1234562 })).toBe('number range');
    expect(construct({ type: 'number', minimum: 2.5, exclusiveMaximum: 2.5 })).toBe('minimum above maximum');
    expect(construct({ $ref: 'http://x/y' })).toBe('$ref');
  });
});

describe('token masks', () => {
  const alphabet = ['{', '}', '"', 'a', 'b', ':', ',', '1', '2', 'é', '\u4e00', ' '];
  const vocabArb = fc.array(fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 4 }).map((cs) => cs.join('')), { minLength: 5, maxLength: 60 });

  it('the trie walk allows exactly the tokens whose bytes keep the matcher alive (split UTF-8 included); EOS where the grammar may end', () => {
    const grammar = parseGbnf(schemaToGbnf({ type: 'object', properties: { a: { type: 'string', maxLength: 3 }, b: { type: 'integer' } }, required: ['a'] }));
    fc.assert(
      fc.property(vocabArb, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (words, path, split) => {
        // Some tokens as single bytes of their UTF-8, as byte-level vocabularies have them.
        const bytes = words.map((w) => enc.encode(w)).flatMap((b) => (split && b.length > 1 ? [b.slice(0, 1), b.slice(1)] : [b]));
        const eos = bytes.length;
        const trie = new TokenTrie([...bytes, null], bytes.length + 1, [eos]);
        const a = new Automaton(grammar);
        const masker = new TokenMasker(a, trie);
        let st: ByteState = { set: a.start, acc: 0, need: 0 };
        for (const pick of [...path, 0]) {
          const mask = masker.mask(st);
          const want = bytes.map((b) => run(a, b, st) !== null);
          expect(bytes.map((_, id) => allowed(mask, id))).toEqual(want);
          expect(allowed(mask, eos)).toBe(st.need === 0 && a.accepts(st.set));
          const ok = want.flatMap((w, id) => (w ? [id] : []));
          if (ok.length === 0) break;
          st = run(a, bytes[ok[pick % ok.length]], st)!;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the adaptive mask (per stack top: accepted, rejected, checked in full) equals a whole-trie walk, prepared ahead or split when met', () => {
    const grammars = [ARITHMETIC_GBNF, jsonObjectGbnf(), schemaToGbnf({ type: 'object', properties: { s: { type: 'string', maxLength: 4 }, n: { type: 'number', minimum: 0.5, exclusiveMaximum: 2.25 }, e: { enum: ['ab', 'abc'] }, l: { type: 'array', items: { type: 'integer' }, maxItems: 2 } }, required: ['s', 'n'] })].map((g) => parseGbnf(g));
    const pieces = ['{', '}', '"', 'a', 'b', 'c', ':', ',', '[', ']', '1', '0', '.', '5', '2', '(', ')', '+', '*', 'é', 's', 'n', 'e', 'l', '-'];
    const words = fc.array(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 5 }).map((cs) => cs.join('')), { minLength: 20, maxLength: 120 });
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), words, fc.boolean(), fc.constantFrom(1, 2, 3), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (gi, ws, prepared, depth, path) => {
        // The single characters too, so a walk never stalls for want of a token.
        const bytes = [...new Set([...pieces, ...ws])].map((w) => enc.encode(w));
        const trie = new TokenTrie([...bytes, null], bytes.length + 1, [bytes.length]);
        const a = new Automaton(grammars[gi]);
        const masker = new TokenMasker(a, trie, depth);
        if (prepared) masker.prepare();
        let st: ByteState = { set: a.start, acc: 0, need: 0 };
        for (const pick of path) {
          const mask = masker.mask(st);
          const whole = walkAll(a, trie, pack(st));
          const ok = bytes.flatMap((_, id) => (allowed(whole, id) ? [id] : []));
          expect(bytes.map((_, id) => allowed(mask, id))).toEqual(bytes.map((_, id) => allowed(whole, id)));
          if (ok.length === 0) break;
          st = run(a, bytes[ok[pick % ok.length]], st)!;
        }
        if (prepared) expect(masker.walks + masker.splitWalks).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });

  it('a token is dependent when a path left the stack top anywhere before the point where the rest died', () => {
    // x ::= "a" ("bcd")?: after "a" one path pops (into the caller's "bcX"), the other goes on
    // through "bc" and dies at "X"; the real stack takes "abcX" along the first.
    const a = new Automaton(parseGbnf('root ::= x "bcX"\nx ::= "a" ("bcd")?'));
    const bytes = ['abcX', 'abcd', 'abcdbcX', 'a', 'ab', 'abcY'].map((w) => enc.encode(w));
    const masker = new TokenMasker(a, new TokenTrie(bytes, bytes.length, []), 1);
    const mask = masker.mask({ set: a.start, acc: 0, need: 0 });
    expect(bytes.map((_, id) => allowed(mask, id))).toEqual([true, true, true, true, true, false]);
  });
});
