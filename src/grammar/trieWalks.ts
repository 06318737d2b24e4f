import { maskWords, type TokenMask } from '../sampling/logitAdjustments.ts';
import { atBoundary, atSet, type Automaton, type PackedState, setOf, stepPacked } from './Matcher.ts';
import type { TokenTrie } from './TokenTrie.ts';

const setBit = (m: TokenMask, id: number): void => {
  m[id >>> 5] |= 1 << (id & 31);
};

/**
 * The tokens whose bytes keep the matcher alive from `from`: one depth-first walk of the trie,
 * the state after each prefix computed once for all tokens below it, a refused prefix skipping
 * its whole subtree. EOS is not included (the caller knows whether the grammar may end).
 */
export function walkAll(a: Automaton, t: TokenTrie, from: PackedState): TokenMask {
  const m = new Uint32Array(maskWords(t.vocabSize));
  const states = new Float64Array(t.maxDepth + 1);
  states[0] = from;
  const { depth, byte, end, tokenStart, tokens } = t;
  for (let node = 1, n = t.nodes; node < n; ) {
    const d = depth[node];
    const next = stepPacked(a, states[d - 1], byte[node]);
    if (next === 0) {
      node = end[node];
      continue;
    }
    states[d] = next;
    for (let k = tokenStart[node]; k < tokenStart[node + 1]; k++) setBit(m, tokens[k]);
    node++;
  }
  return m;
}

/**
 * A truncated stack's split of the vocabulary (XGrammar's adaptive token mask): `accepted`
 * tokens are allowed from every stack with these top frames, tokens in neither list from none,
 * and the `dependent` ones are decided by the frames below, so each stack checks them in full.
 */
export interface TokenSplit {
  accepted: TokenMask;
  dependent: Int32Array;
}

/**
 * Walks the trie from `keySet`, a truncated stack over BOTTOM (Automaton.truncated). A token is
 * accepted when some path takes all of its bytes (a path that pops into BOTTOM exactly at its
 * end counts: any real frames below expand into at least one live stack). A refused prefix
 * rejects its subtree, unless some path reached BOTTOM on the way, where the real frames below
 * could take the rest: then the subtree's tokens are dependent.
 */
export function splitTokens(a: Automaton, t: TokenTrie, keySet: number): TokenSplit {
  const accepted = new Uint32Array(maskWords(t.vocabSize));
  const dependent: number[] = [];
  const states = new Float64Array(t.maxDepth + 1);
  // left[d]: some state after 0..d bytes has popped into BOTTOM.
  const left = new Uint8Array(t.maxDepth + 1);
  states[0] = atSet(keySet);
  const { depth, byte, end, tokenStart, tokens } = t;
  for (let node = 1, n = t.nodes; node < n; ) {
    const d = depth[node];
    const next = stepPacked(a, states[d - 1], byte[node]);
    if (next === 0) {
      if (left[d - 1]) for (let k = tokenStart[node]; k < tokenStart[end[node]]; k++) dependent.push(tokens[k]);
      node = end[node];
      continue;
    }
    states[d] = next;
    // A partial character (NEED bits set) cannot have popped: pops follow whole characters.
    left[d] = left[d - 1] || (atBoundary(next) && a.reachedBottom(setOf(next))) ? 1 : 0;
    for (let k = tokenStart[node]; k < tokenStart[node + 1]; k++) setBit(accepted, tokens[k]);
    node++;
  }
  return { accepted, dependent: Int32Array.from(dependent) };
}
