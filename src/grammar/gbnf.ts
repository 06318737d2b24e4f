import { GrammarError } from '../errors.ts';
import { CharClass, type Element, type Grammar, GrammarBuilder } from './Grammar.ts';

/**
 * Parses GBNF, llama.cpp's grammar notation: `name ::= alternatives` rules (the root is `root`),
 * "literals" and [classes] with \n \r \t \\ \" \] \xHH \uHHHH \UHHHHHHHH escapes, `.` (any
 * character), ( groups ), `|`, and the postfix repetitions * + ? {m} {m,} {m,n}; `#` comments.
 * A rule runs until the next `name ::=`, so alternatives and groups may span lines.
 */
export function parseGbnf(text: string, param = 'grammar'): Grammar {
  return new GbnfParser(text, param).parse();
}

/** Recently compiled grammars by text: requests that repeat a schema share its matcher's memo and mask cache. */
const compiled = new Map<string, Grammar>();
const CACHED = 8;

/** parseGbnf, remembering the last few grammars (a hit moves to the back, the front is dropped first). */
export function parseGbnfCached(text: string, param = 'grammar'): Grammar {
  const hit = compiled.get(text);
  if (hit) {
    compiled.delete(text);
    compiled.set(text, hit);
    return hit;
  }
  const g = parseGbnf(text, param);
  if (compiled.size >= CACHED) compiled.delete(compiled.keys().next().value!);
  compiled.set(text, g);
  return g;
}

const NAME = /[A-Za-z0-9_-]/;
const ANY = CharClass.of([[0, 0x10ffff]]);

class GbnfParser {
  private pos = 0;
  private readonly b: GrammarBuilder;

  constructor(
    private readonly src: string,
    private readonly param: string,
  ) {
    this.b = new GrammarBuilder(param);
  }

  private fail(construct: string, why: string): never {
    const line = this.src.slice(0, this.pos).split('\n').length;
    throw new GrammarError(this.param, construct, `line ${line}: ${why}`);
  }

  parse(): Grammar {
    this.space();
    if (this.pos >= this.src.length) this.fail('empty grammar', 'the grammar has no rules');
    while (this.pos < this.src.length) {
      const name = this.name();
      this.space();
      if (!this.src.startsWith('::=', this.pos)) this.fail('rule', `expected ::= after ${name}`);
      this.pos += 3;
      this.b.define(name, this.alternatives(name, false));
      this.space();
    }
    return this.b.build('root');
  }

  /** Skips blanks, newlines and comments. */
  private space(): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '#') while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else if (/\s/.test(c)) this.pos++;
      else break;
    }
  }

  private name(): string {
    const start = this.pos;
    while (this.pos < this.src.length && NAME.test(this.src[this.pos])) this.pos++;
    if (this.pos === start) this.fail('rule name', `expected a rule name at ${JSON.stringify(this.src.slice(start, start + 12))}`);
    return this.src.slice(start, this.pos);
  }

  /** Whether a top-level rule starts here: `name ::=`. */
  private atRuleStart(): boolean {
    const m = /^[A-Za-z0-9_-]+\s*::=/.exec(this.src.slice(this.pos, this.pos + 200));
    return m !== null;
  }

  private alternatives(rule: string, nested: boolean): Element[][] {
    const alts: Element[][] = [this.sequence(rule, nested)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence(rule, nested));
    }
    return alts;
  }

  private sequence(rule: string, nested: boolean): Element[] {
    const out: Element[] = [];
    let last: Element[] | null = null;
    for (;;) {
      this.space();
      const c = this.src[this.pos];
      if (c === undefined || c === '|' || (nested && c === ')') || (!nested && this.atRuleStart())) break;
      if (c === ')') this.fail('group', 'unbalanced )');
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        if (!last) this.fail('repetition', `${c} follows nothing`);
        const [min, max] = this.repetition();
        out.splice(out.length - last.length, last.length);
        last = this.b.repeat(rule, last, min, max);
        out.push(...last);
        last = null; // a repetition of a repetition must be grouped
        continue;
      }
      last = this.item(rule);
      out.push(...last);
    }
    return out;
  }

  private repetition(): [number, number] {
    const c = this.src[this.pos++];
    if (c === '*') return [0, Infinity];
    if (c === '+') return [1, Infinity];
    if (c === '?') return [0, 1];
    const m = /^\s*(\d+)\s*(,\s*(\d*)\s*)?\}/.exec(this.src.slice(this.pos));
    if (!m) this.fail('repetition', 'expected {m}, {m,} or {m,n}');
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (max < min) this.fail('repetition', `{${min},${max}} has max < min`);
    return [min, max];
  }

  /** One item: its elements (a literal is several). */
  private item(rule: string): Element[] {
    const c = this.src[this.pos];
    if (c === '"') {
      this.pos++;
      const out: Element[] = [];
      while (this.src[this.pos] !== '"') {
        if (this.pos >= this.src.length) this.fail('literal', 'unterminated string literal');
        const cp = this.char();
        out.push({ kind: 'char', cls: CharClass.of([[cp, cp]]) });
      }
      this.pos++;
      return out;
    }
    if (c === '[') return [{ kind: 'char', cls: this.charClass() }];
    if (c === '.') {
      this.pos++;
      return [{ kind: 'char', cls: ANY }];
    }
    if (c === '(') {
      this.pos++;
      const alts = this.alternatives(rule, true);
      if (this.src[this.pos] !== ')') this.fail('group', 'missing )');
      this.pos++;
      return [{ kind: 'rule', rule: this.b.helper(rule, alts) }];
    }
    if (NAME.test(c)) return [{ kind: 'rule', rule: this.b.ref(this.name()) }];
    return this.fail('syntax', `unexpected ${JSON.stringify(c)}`);
  }

  private charClass(): CharClass {
    this.pos++;
    const negated = this.src[this.pos] === '^';
    if (negated) this.pos++;
    const ranges: [number, number][] = [];
    while (this.src[this.pos] !== ']') {
      if (this.pos >= this.src.length) this.fail('character class', 'unterminated [');
      const lo = this.char();
      let hi = lo;
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']') {
        this.pos++;
        hi = this.char();
      }
      if (hi < lo) this.fail('character class', 'a range whose end is below its start');
      ranges.push([lo, hi]);
    }
    this.pos++;
    return CharClass.of(ranges, negated);
  }

  /** One character of a literal or class, escapes decoded, as a code point. */
  private char(): number {
    const c = this.src.codePointAt(this.pos)!;
    if (c !== 0x5c) {
      this.pos += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.src[this.pos + 1];
    this.pos += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, '"': 34, ']': 93, '[': 91, '-': 45, '/': 47, '^': 94 };
    if (e in simple) return simple[e];
    const digits = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (digits === 0) this.fail('escape', `unknown escape \\${e}`);
    const hex = this.src.slice(this.pos, this.pos + digits);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) this.fail('escape', `\\${e} needs ${digits} hex digits`);
    this.pos += digits;
    return parseInt(hex, 16);
  }
}
