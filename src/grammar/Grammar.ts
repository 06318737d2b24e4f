import { GrammarError } from '../errors.ts';

/**
 * A set of Unicode code points: sorted, disjoint inclusive ranges [lo0, hi0, lo1, hi1, ...],
 * negation already applied. `ascii` caches membership of 0..127, the common case.
 */
export class CharClass {
  readonly ascii: Uint8Array;
  constructor(readonly ranges: readonly number[]) {
    this.ascii = new Uint8Array(128);
    for (let i = 0; i < ranges.length; i += 2) for (let c = ranges[i]; c <= Math.min(ranges[i + 1], 127); c++) this.ascii[c] = 1;
  }

  /** The class of `ranges` (any order, overlapping), or of their complement when `negated`. */
  static of(ranges: ReadonlyArray<readonly [number, number]>, negated = false): CharClass {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    const merged: number[] = [];
    for (const [lo, hi] of sorted) {
      const n = merged.length;
      if (n > 0 && lo <= merged[n - 1] + 1) merged[n - 1] = Math.max(merged[n - 1], hi);
      else merged.push(lo, hi);
    }
    if (!negated) return new CharClass(merged);
    const out: number[] = [];
    let next = 0;
    for (let i = 0; i < merged.length; i += 2) {
      if (merged[i] > next) out.push(next, merged[i] - 1);
      next = merged[i + 1] + 1;
    }
    if (next <= 0x10ffff) out.push(next, 0x10ffff);
    return new CharClass(out);
  }

  has(cp: number): boolean {
    if (cp < 128) return this.ascii[cp] === 1;
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (cp >= r[i] && cp <= r[i + 1]) return true;
    return false;
  }

  /** Whether some code point in [lo, hi] belongs: a partial UTF-8 character may still match. */
  meets(lo: number, hi: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (r[i] <= hi && r[i + 1] >= lo) return true;
    return false;
  }
}

/** An element of a rule's alternative: a character class, or a reference to a rule. */
export type Element = { kind: 'char'; cls: CharClass } | { kind: 'rule'; rule: number };

export const END = 0;
export const CHAR = 1;
export const RULE = 2;

/**
 * A grammar flattened for the matcher, as llama.cpp lays one out: each alternative of each rule
 * is a run of positions ending with END; `kind[p]` says what position p holds and `arg[p]` its
 * class index (CHAR) or rule id (RULE). A position is what a stack frame waits for next.
 */
export class Grammar {
  readonly kind: Uint8Array;
  readonly arg: Int32Array;
  readonly classes: CharClass[] = [];
  /** Per rule, the first position of each alternative. */
  readonly alts: number[][];

  constructor(
    readonly names: readonly string[],
    rules: readonly Element[][][],
    readonly root: number,
  ) {
    const size = rules.reduce((s, r) => s + r.reduce((t, alt) => t + alt.length + 1, 0), 0);
    this.kind = new Uint8Array(size);
    this.arg = new Int32Array(size);
    const classIndex = new Map<CharClass, number>();
    let p = 0;
    this.alts = rules.map((alts) =>
      alts.map((alt) => {
        const start = p;
        for (const e of alt) {
          if (e.kind === 'rule') {
            this.kind[p] = RULE;
            this.arg[p] = e.rule;
          } else {
            let ci = classIndex.get(e.cls);
            if (ci === undefined) classIndex.set(e.cls, (ci = this.classes.push(e.cls) - 1));
            this.kind[p] = CHAR;
            this.arg[p] = ci;
          }
          p++;
        }
        this.kind[p++] = END;
        return start;
      }),
    );
  }
}

/**
 * Builds rules by name (GBNF's and the schema compiler's), with helper rules for groups and
 * repetitions, and checks what the matcher needs: every referenced rule defined, a root, and no
 * left recursion (a pushdown matcher that expands rules eagerly would never stop).
 */
export class GrammarBuilder {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  readonly rules: (Element[][] | null)[] = [];

  constructor(private readonly param: string) {}

  ref(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.push(name) - 1;
      this.ids.set(name, id);
      this.rules.push(null);
    }
    return id;
  }

  define(name: string, alts: Element[][]): number {
    const id = this.ref(name);
    if (this.rules[id]) throw new GrammarError(this.param, 'duplicate rule', `rule ${name} is defined twice`);
    this.rules[id] = alts;
    return id;
  }

  /** A fresh helper rule holding `alts`, named after `base`. */
  helper(base: string, alts: Element[][]): number {
    let n = this.names.length;
    while (this.ids.has(`${base}-${n}`)) n++;
    return this.define(`${base}-${n}`, alts);
  }

  /** `items` repeated min to max times (max Infinity: unbounded), as helper rules. */
  repeat(base: string, items: Element[], min: number, max: number): Element[] {
    const out: Element[] = [];
    for (let i = 0; i < min; i++) out.push(...items);
    if (max === Infinity) {
      const id = this.ref(`${base}-star-${this.names.length}`);
      this.rules[id] = [[...items, { kind: 'rule', rule: id }], []];
      out.push({ kind: 'rule', rule: id });
    } else if (max > min) {
      // x{0,k} as nested optionals: R_k ::= x R_{k-1} | ε
      let tail: Element[] = [];
      for (let i = 0; i < max - min; i++) tail = [{ kind: 'rule', rule: this.helper(`${base}-opt`, [[...items, ...tail], []]) }];
      out.push(...tail);
    }
    return out;
  }

  build(rootName = 'root'): Grammar {
    const root = this.ids.get(rootName);
    if (root === undefined || !this.rules[root]) throw new GrammarError(this.param, 'missing root', `the grammar has no rule named ${rootName}`);
    this.rules.forEach((r, i) => {
      if (!r) throw new GrammarError(this.param, 'undefined rule', `rule ${this.names[i]} is used but never defined`);
    });
    const rules = this.rules as Element[][][];
    checkLeftRecursion(rules, this.names, this.param);
    return new Grammar(this.names, rules, root);
  }
}

function checkLeftRecursion(rules: Element[][][], names: readonly string[], param: string): void {
  const nullable = new Array<boolean>(rules.length).fill(false);
  for (let changed = true; changed; ) {
    changed = false;
    rules.forEach((alts, i) => {
      if (!nullable[i] && alts.some((alt) => alt.every((e) => e.kind === 'rule' && nullable[e.rule]))) changed = nullable[i] = true;
    });
  }
  // Rules reachable from each rule without consuming a character.
  const left = rules.map((alts) => {
    const out = new Set<number>();
    for (const alt of alts) {
      for (const e of alt) {
        if (e.kind !== 'rule') break;
        out.add(e.rule);
        if (!nullable[e.rule]) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(rules.length); // 0 new, 1 on the path, 2 done
  const visit = (i: number): void => {
    state[i] = 1;
    for (const j of left[i]) {
      if (state[j] === 1) throw new GrammarError(param, 'left recursion', `rule ${names[j]} is left-recursive (it can reach itself before any character); rewrite it with repetition, e.g. a ::= b ("+" b)*`);
      if (state[j] === 0) visit(j);
    }
    state[i] = 2;
  };
  rules.forEach((_, i) => state[i] === 0 && visit(i));
}
