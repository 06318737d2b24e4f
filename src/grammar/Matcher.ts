import { CHAR, END, type Grammar, RULE } from './Grammar.ts';

/**
 * The pushdown automaton of a grammar over code points, with every structure interned so that
 * the per-token work is memo lookups: a stack is an id (0 = the empty stack: the grammar is
 * complete), a set of stacks (the matcher's nondeterminism) is an id (0 = no stack: dead).
 *
 * A stack lists the positions its frames wait for, top first; stacks are kept expanded (as
 * llama.cpp does) so that a live stack's top is always a CHAR position. Advancing by a code point
 * keeps the stacks whose top class holds it, moves their top past it, and expands again.
 * Left recursion is refused when the grammar is built (src/grammar/Grammar.ts), so expansion ends.
 */
export class Automaton {
  /** Stack 0 is the empty stack; stack BOTTOM stands for frames left unknown (see truncated). */
  private readonly stackPos: number[] = [-1, -1];
  private readonly stackNext: number[] = [0, 0];
  private readonly stackIds = new Map<number, number>();
  private readonly expanded = new Map<number, number[]>();
  private readonly sets: number[][] = [[]];
  private readonly setIds = new Map<string, number>([['', 0]]);
  private readonly stepMemo = new Map<number, number>();
  /** The set of stacks the grammar starts in. */
  readonly start: number;

  constructor(readonly grammar: Grammar) {
    const out = new Set<number>();
    for (const a of grammar.alts[grammar.root]) for (const s of this.expand(this.push(a, 0))) out.add(s);
    this.start = this.internSet([...out]);
  }

  private push(pos: number, next: number): number {
    const key = next * this.grammar.kind.length + pos;
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackPos.push(pos) - 1;
      this.stackNext.push(next);
      this.stackIds.set(key, id);
    }
    return id;
  }

  /** The stack with its top frame moved past `pos` (popped when its alternative ends there). */
  private after(pos: number, next: number): number {
    return this.grammar.kind[pos + 1] === END ? next : this.push(pos + 1, next);
  }

  /** Stacks whose top is a CHAR, or the empty stack, reachable from `s` without a character. */
  private expand(s: number): number[] {
    const hit = this.expanded.get(s);
    if (hit) return hit;
    const g = this.grammar;
    let out: number[];
    if (s === 0 || s === BOTTOM) out = [s];
    else {
      const pos = this.stackPos[s];
      const next = this.stackNext[s];
      const k = g.kind[pos];
      if (k === CHAR) out = [s];
      else if (k === END) out = this.expand(next);
      else {
        const cont = this.after(pos, next);
        const acc = new Set<number>();
        for (const a of g.alts[g.arg[pos]]) {
          const sub = g.kind[a] === END ? this.expand(cont) : this.expand(this.push(a, cont));
          for (const x of sub) acc.add(x);
        }
        out = [...acc];
      }
    }
    this.expanded.set(s, out);
    return out;
  }

  private internSet(stacks: number[]): number {
    stacks.sort((a, b) => a - b);
    const key = stacks.join(',');
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.push(stacks) - 1;
      this.setIds.set(key, id);
    }
    return id;
  }

  /** Per set, its ASCII transitions as they are found (-1: not yet): the trie walk's hot path, no hashing. */
  private readonly ascii: (Int32Array | undefined)[] = [];

  /** The set after code point `cp`; 0 when no stack takes it. */
  step(set: number, cp: number): number {
    if (cp < 128) {
      const row = (this.ascii[set] ??= new Int32Array(128).fill(-1));
      const known = row[cp];
      return known >= 0 ? known : (row[cp] = this.compute(set, cp));
    }
    const key = set * 0x110000 + cp;
    const hit = this.stepMemo.get(key);
    if (hit !== undefined) return hit;
    const id = this.compute(set, cp);
    this.stepMemo.set(key, id);
    return id;
  }

  private compute(set: number, cp: number): number {
    const g = this.grammar;
    const out = new Set<number>();
    for (const s of this.sets[set]) {
      if (s === 0 || s === BOTTOM) continue;
      const pos = this.stackPos[s];
      if (!g.classes[g.arg[pos]].has(cp)) continue;
      for (const x of this.expand(this.after(pos, this.stackNext[s]))) out.add(x);
    }
    return out.size === 0 ? 0 : this.internSet([...out]);
  }

  /** The stacks of a set (0: the empty stack; BOTTOM: see truncated). */
  stacks(set: number): readonly number[] {
    return this.sets[set];
  }

  /** Whether a path of `set` has popped into BOTTOM: what follows depends on the frames cut off. */
  reachedBottom(set: number): boolean {
    return this.sets[set].includes(BOTTOM);
  }

  /**
   * The set of one stack cut to its top `depth` frames over BOTTOM (a shorter stack is kept
   * whole): what the tokens allowed from any stack with these top frames have in common.
   */
  truncated(stack: number, depth: number): number {
    const positions: number[] = [];
    let s = stack;
    for (; s !== 0 && positions.length < depth; s = this.stackNext[s]) positions.push(this.stackPos[s]);
    return this.setOfFrames(positions, s === 0 ? 0 : BOTTOM);
  }

  /** The set of the one stack with frames `positions` (top first, the top a CHAR position) over `below` (0 or BOTTOM). */
  setOfFrames(positions: readonly number[], below: number): number {
    let s = below;
    for (let i = positions.length - 1; i >= 0; i--) s = this.push(positions[i], s);
    return this.internSet([s]);
  }

  /** Whether the grammar may end here (some stack is empty). */
  accepts(set: number): boolean {
    return this.sets[set].includes(0);
  }

  /** Whether some stack can take another character. */
  canContinue(set: number): boolean {
    return this.sets[set].some((s) => s !== 0 && s !== BOTTOM);
  }

  /** Whether some stack takes a code point in [lo, hi] (the characters a partial UTF-8 sequence may become). */
  meets(set: number, lo: number, hi: number): boolean {
    const g = this.grammar;
    return this.sets[set].some((s) => s !== 0 && s !== BOTTOM && g.classes[g.arg[this.stackPos[s]]].meets(lo, hi));
  }
}

/**
 * The stand-in for the frames below a truncated stack: it takes no character, so a path that
 * pops down to it stops there. A set holding it has left what the truncated stack knows.
 */
export const BOTTOM = 1;

/**
 * A position in a byte stream: the set of stacks, and a UTF-8 character begun but not finished
 * (`need` continuation bytes still to come, `acc` the bits so far).
 */
export interface ByteState {
  set: number;
  acc: number;
  need: number;
}

export const DEAD: ByteState = { set: 0, acc: 0, need: 0 };

/**
 * A ByteState packed into one number (set * 2^23 + need * 2^21 + acc; acc < 2^21, need < 4), so
 * that the trie walk allocates nothing per node. 0 is dead: a live state's set is never 0.
 */
export type PackedState = number;
const SET = 2 ** 23;
const NEED = 2 ** 21;

/** The packed state at a character boundary of `set`, and the set of a packed state. */
export const atSet = (set: number): PackedState => set * SET;
export const setOf = (p: PackedState): number => Math.floor(p / SET);
/** Whether a packed state is between characters (no partial UTF-8 character pending). */
export const atBoundary = (p: PackedState): boolean => p % SET === 0;

export const pack = (st: ByteState): PackedState => (st.set === 0 ? 0 : st.set * SET + st.need * NEED + st.acc);
export const unpack = (p: PackedState): ByteState => ({ set: Math.floor(p / SET), need: Math.floor((p % SET) / NEED), acc: p % NEED });

/**
 * The state after one byte; 0 when the byte cannot follow. Only well-formed UTF-8 lives (no
 * overlong forms, surrogates or code points past U+10FFFF: Unicode's table 3-7, checked byte by
 * byte), so a live partial state's remaining code points are exactly a range, and a byte-level
 * token that starts a character the grammar cannot take is refused at once.
 */
export function stepPacked(a: Automaton, p: PackedState, byte: number): PackedState {
  const set = Math.floor(p / SET);
  const need = Math.floor((p % SET) / NEED);
  if (need === 0) {
    if (byte < 0x80) return a.step(set, byte) * SET;
    const n = byte >= 0xc2 && byte <= 0xdf ? 1 : byte >= 0xe0 && byte <= 0xef ? 2 : byte >= 0xf0 && byte <= 0xf4 ? 3 : -1;
    if (n < 0) return 0;
    const acc = byte & (n === 1 ? 0x1f : n === 2 ? 0x0f : 0x07);
    const lo = acc * 2 ** (6 * n);
    const hi = lo + 2 ** (6 * n) - 1;
    // The lead alone still allows overlong and out-of-range tails: clamp to what its valid tails give.
    const alive = a.meets(set, Math.max(lo, n === 2 ? 0x800 : n === 3 ? 0x10000 : 0), Math.min(hi, byte === 0xed ? 0xd7ff : 0x10ffff));
    return alive ? set * SET + n * NEED + acc : 0;
  }
  if (!continues(need, p % NEED, byte)) return 0;
  const acc = ((p % NEED) << 6) | (byte & 0x3f);
  if (need === 1) return a.step(set, acc) * SET;
  return partialAlive(a, set, acc, need - 1) ? set * SET + (need - 1) * NEED + acc : 0;
}

/** Whether `byte` may follow a partial character (`need` bytes to go, `acc` its bits so far). */
function continues(need: number, acc: number, byte: number): boolean {
  if ((byte & 0xc0) !== 0x80) return false;
  // acc is the lead's bits only at a 3-byte character's first continuation (need 2, acc < 16:
  // a 4-byte one's second has acc >= 16) and at a 4-byte character's first (need 3).
  if (need === 2 && acc < 16) return acc === 0 ? byte >= 0xa0 : acc === 0xd ? byte < 0xa0 : true; // E0: no overlong; ED: no surrogate
  if (need === 3) return acc === 0 ? byte >= 0x90 : acc === 4 ? byte < 0x90 : true; // F0: no overlong; F4: <= U+10FFFF
  return true;
}

/** The state after one byte; `set` 0 when the byte cannot follow. */
export function stepByte(a: Automaton, st: ByteState, byte: number): ByteState {
  const p = stepPacked(a, pack(st), byte);
  return p === 0 ? DEAD : unpack(p);
}

function partialAlive(a: Automaton, set: number, acc: number, need: number): boolean {
  const lo = acc * 2 ** (6 * need);
  return a.meets(set, lo, lo + 2 ** (6 * need) - 1);
}
