import { maskWords, type TokenMask } from '../sampling/logitAdjustments.ts';
import { atSet, type Automaton, BOTTOM, type ByteState, pack, stepPacked } from './Matcher.ts';
import { stackKeys } from './stackKeys.ts';
import { splitTokens, type TokenSplit, walkAll } from './trieWalks.ts';
import type { TokenTrie } from './TokenTrie.ts';

/** Masks kept per grammar (16 KiB each at 128k tokens: 4 MiB at most). */
const CACHE_LIMIT = 256;

/**
 * How many top frames of a stack decide its split. One frame (XGrammar's rule position) leaves
 * most tokens dependent here, since GBNF's helper rules are small (a string's character is a
 * rule of its own); three keep nearly all tokens decided on the SmolLM2-sized synthetic
 * vocabulary (src/bench/grammarMask.ts: at most ~90 dependent tokens a step for the issue's
 * schemas, against ~47,000 with two), for ~1.3x the splits of two.
 */
export const KEY_DEPTH = 3;

/**
 * The tokens a grammar state allows, as a bitmask over the model's vocabulary: a token is
 * allowed when its bytes keep the matcher alive (a UTF-8 character left unfinished counts when
 * some stack can still take it), EOS only where the grammar may end.
 *
 * XGrammar's adaptive mask: a state is a set of stacks, and a token is allowed when some stack
 * takes it. Each stack's top KEY_DEPTH frames split the vocabulary once (trieWalks.splitTokens)
 * into tokens accepted whatever lies below, tokens rejected whatever lies below, and the few
 * that depend on it; a state's mask is the union of its stacks' accepted masks plus the
 * dependent tokens that pass a check from the whole state. Splits are kept per grammar and
 * vocabulary (`prepare` makes them all ahead), and whole masks are cached by state, so a state
 * met again (inside a string, between array items) costs a lookup. A state inside a UTF-8
 * character (after a byte-fallback token) walks the whole trie.
 */
export class TokenMasker {
  private readonly cache = new Map<string, TokenMask>();
  private readonly splits = new Map<number, TokenSplit>();
  private readonly keyOf = new Map<number, number>();
  /** Splits computed (trie walks from a truncated stack), whole-trie walks, dependent tokens checked, cached masks found. */
  splitWalks = 0;
  walks = 0;
  dependentChecks = 0;
  hits = 0;

  constructor(
    readonly automaton: Automaton,
    readonly trie: TokenTrie,
    /** Frames per split key: KEY_DEPTH; tests vary it to exercise dependent tokens. */
    readonly keyDepth = KEY_DEPTH,
  ) {}

  /** Splits the vocabulary for every stack top the grammar can produce; returns how many. */
  prepare(): number {
    const keys = stackKeys(this.automaton.grammar, this.keyDepth, BOTTOM);
    for (const k of keys) this.split(this.automaton.setOfFrames(k.positions, k.below));
    return keys.length;
  }

  mask(st: ByteState): TokenMask {
    const key = `${st.set}:${st.acc}:${st.need}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    let m: TokenMask;
    if (st.need > 0) {
      this.walks++;
      m = walkAll(this.automaton, this.trie, pack(st));
    } else m = this.adaptive(st.set);
    const t = this.trie;
    if (st.need === 0 && this.automaton.accepts(st.set)) for (const id of t.eosIds) if (id < t.vocabSize) m[id >>> 5] |= 1 << (id & 31);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, m);
    return m;
  }

  private adaptive(set: number): TokenMask {
    const a = this.automaton;
    const m = new Uint32Array(maskWords(this.trie.vocabSize));
    const dependents: Int32Array[] = [];
    for (const s of a.stacks(set)) {
      if (s === 0) continue;
      let k = this.keyOf.get(s);
      if (k === undefined) this.keyOf.set(s, (k = a.truncated(s, this.keyDepth)));
      const split = this.split(k);
      const acc = split.accepted;
      for (let w = 0; w < m.length; w++) m[w] |= acc[w];
      if (split.dependent.length > 0) dependents.push(split.dependent);
    }
    const from = atSet(set);
    const bytes = this.trie.bytes;
    for (const list of dependents) {
      for (const id of list) {
        if ((m[id >>> 5] >>> (id & 31)) & 1) continue;
        this.dependentChecks++;
        let p = from;
        for (const b of bytes[id]!) if ((p = stepPacked(a, p, b)) === 0) break;
        if (p !== 0) m[id >>> 5] |= 1 << (id & 31);
      }
    }
    return m;
  }

  private split(keySet: number): TokenSplit {
    let s = this.splits.get(keySet);
    if (!s) {
      this.splitWalks++;
      this.splits.set(keySet, (s = splitTokens(this.automaton, this.trie, keySet)));
    }
    return s;
  }
}
