import { GrammarError } from '../errors.ts';
import { charClass, JSON_CHAR_RANGES, literal } from './gbnfText.ts';

type Ranges = Array<[number, number]>;

/**
 * A JSON schema `pattern` (ECMAScript regex) as a GBNF expression over a JSON string's content,
 * in the subset a grammar can hold: literals, escapes (\d \w \s \D \W \S and escaped
 * punctuation), classes with ranges and negation, `.`, groups `(...)` and `(?:...)`, `|`, and
 * the quantifiers * + ? {m} {m,} {m,n} (lazy or not: a grammar accepts the same strings).
 * Anchors only at the ends; an unanchored side admits any characters there, as JSON schema's
 * unanchored match does. Refused by name: backreferences, lookaround, word boundaries, \p{...},
 * anchors inside. Characters that a JSON string must escape are written escaped; classes keep
 * only characters a JSON string holds unescaped (no `"`, `\` or control characters from a class).
 */
export function patternToGbnf(pattern: string, param: string, at: string): string {
  return new RegexParser(pattern, param, at).parse();
}

const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: Ranges = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x2028, 0x2029], [0xfeff, 0xfeff]];

function complement(r: Ranges): Ranges {
  const sorted = [...r].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

/** `r` less what a JSON string cannot hold unescaped. */
function jsonSafe(r: Ranges): Ranges {
  const out: Ranges = [];
  for (const [lo, hi] of r) for (const [a, b] of JSON_CHAR_RANGES) if (lo <= b && hi >= a) out.push([Math.max(lo, a), Math.min(hi, b)]);
  return out;
}

/** One code point as it appears in a JSON string's text. */
function jsonChar(cp: number): string {
  const s = JSON.stringify(String.fromCodePoint(cp));
  return literal(s.slice(1, -1));
}

class RegexParser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly param: string,
    private readonly at: string,
  ) {}

  private refuse(construct: string): never {
    throw new GrammarError(this.param, `pattern ${construct}`, `${this.at}: pattern ${JSON.stringify(this.src)} uses ${construct}, which Folio cannot turn into a grammar`);
  }

  parse(): string {
    const anchoredStart = this.src.startsWith('^');
    if (anchoredStart) this.pos = 1;
    const body = this.alternation(0);
    let anchoredEnd = false;
    if (this.src[this.pos] === '$') {
      anchoredEnd = true;
      this.pos++;
    }
    if (this.pos < this.src.length) this.refuse(this.src[this.pos] === ')' ? 'an unbalanced )' : `${this.src[this.pos]} here`);
    const anyChars = `${charClass(JSON_CHAR_RANGES)}*`;
    return `${anchoredStart ? '' : `${anyChars} `}(${body})${anchoredEnd ? '' : ` ${anyChars}`}`;
  }

  private alternation(depth: number): string {
    const alts = [this.sequence(depth)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence(depth));
    }
    return alts.map((a) => a || '""').join(' | ');
  }

  private sequence(depth: number): string {
    const parts: string[] = [];
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '$') {
        if (depth === 0 && this.pos === this.src.length - 1) break;
        this.refuse('an anchor ($) inside the pattern');
      }
      if (c === '^') this.refuse('an anchor (^) inside the pattern');
      let atom = this.atom(depth);
      const q = this.quantifier();
      if (q) atom = `(${atom})${q}`;
      parts.push(atom);
    }
    return parts.join(' ');
  }

  private quantifier(): string | null {
    const c = this.src[this.pos];
    let q: string | null = null;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      q = c;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) return null; // a literal {, as ECMAScript reads it
      this.pos += m[0].length;
      q = m[2] === undefined ? `{${m[1]}}` : `{${m[1]},${m[3]}}`;
    }
    if (q && this.src[this.pos] === '?') this.pos++; // lazy: the same set of strings
    if (q && /[*+?{]/.test(this.src[this.pos] ?? '') && !/^\{(?!\d)/.test(this.src.slice(this.pos))) this.refuse('a quantifier on a quantifier');
    return q;
  }

  private atom(depth: number): string {
    const c = this.src[this.pos];
    if (c === '(') {
      this.pos++;
      if (this.src[this.pos] === '?') {
        const ahead = this.src.slice(this.pos, this.pos + 3);
        if (ahead.startsWith('?:')) this.pos += 2;
        else if (/^\?<[A-Za-z]/.test(ahead)) this.pos = this.src.indexOf('>', this.pos) + 1;
        else this.refuse('lookaround (?=, ?!, ?<=, ?<!)');
      }
      const inner = this.alternation(depth + 1);
      if (this.src[this.pos] !== ')') this.refuse('an unclosed (');
      this.pos++;
      return `(${inner})`;
    }
    if (c === '[') return this.classAtom();
    if (c === '.') {
      this.pos++;
      return charClass(jsonSafe(complement([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]])));
    }
    if (c === '\\') {
      const r = this.escape(false);
      return typeof r === 'number' ? jsonChar(r) : charClass(jsonSafe(r));
    }
    if (c === '*' || c === '+' || c === '?') this.refuse(`a quantifier (${c}) with nothing before it`);
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return jsonChar(cp);
  }

  private classAtom(): string {
    this.pos++;
    const negated = this.src[this.pos] === '^';
    if (negated) this.pos++;
    const ranges: Ranges = [];
    let first = true;
    while (this.src[this.pos] !== ']' || first) {
      first = false;
      if (this.pos >= this.src.length) this.refuse('an unclosed [');
      const lo = this.classChar();
      if (typeof lo !== 'number') {
        ranges.push(...lo);
        continue;
      }
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']') {
        this.pos++;
        const hi = this.classChar();
        if (typeof hi !== 'number' || hi < lo) this.refuse('a bad class range');
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.pos++;
    const set = jsonSafe(negated ? complement(ranges) : ranges);
    if (set.length === 0) this.refuse('a class with no character a JSON string holds unescaped');
    return charClass(set);
  }

  private classChar(): number | Ranges {
    if (this.src[this.pos] === '\\') return this.escape(true);
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private escape(inClass: boolean): number | Ranges {
    const e = this.src[this.pos + 1];
    this.pos += 2;
    const sets: Record<string, Ranges> = { d: DIGIT, w: WORD, s: SPACE, D: complement(DIGIT), W: complement(WORD), S: complement(SPACE) };
    if (e in sets) return sets[e];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (e in simple) return simple[e];
    if (e === 'b' && inClass) return 8;
    if (e === 'b' || e === 'B') this.refuse('a word boundary (\\b, \\B)');
    if (e === 'p' || e === 'P') this.refuse('a Unicode property (\\p{...})');
    if (e === 'k' || /[1-9]/.test(e ?? '')) this.refuse('a backreference');
    if (e === 'x' || e === 'u') {
      const m = e === 'x' ? /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.pos)) : /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.pos));
      if (!m) this.refuse(`a bad \\${e} escape`);
      this.pos += m[0].length;
      return parseInt(m[0], 16);
    }
    if (e === undefined) this.refuse('a trailing backslash');
    if (/[A-Za-z]/.test(e)) this.refuse(`the escape \\${e}`);
    return e.codePointAt(0)!;
  }
}
