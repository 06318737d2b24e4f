import { maskWords, type TokenMask } from '../sampling/logitAdjustments.ts';
import { type Automaton, type ByteState, pack, stepPacked } from './Matcher.ts';
import type { TokenTrie } from './TokenTrie.ts';

/** Masks kept per grammar (16 KiB each at 128k tokens: 4 MiB at most); a miss walks the trie. */
const CACHE_LIMIT = 256;

/**
 * The tokens a grammar state allows, as a bitmask over the model's vocabulary: a token is
 * allowed when its bytes keep the matcher alive (a UTF-8 character left unfinished counts when
 * some stack can still take it), EOS only where the grammar may end. One depth-first walk of
 * the vocabulary's trie per new state; masks are cached by state, so a state met again (inside
 * a string, between array items) costs a lookup.
 */
export class TokenMasker {
  private readonly cache = new Map<string, TokenMask>();
  /** States whose masks were computed by walking the trie, and found in the cache. */
  walks = 0;
  hits = 0;

  constructor(
    readonly automaton: Automaton,
    readonly trie: TokenTrie,
  ) {}

  mask(st: ByteState): TokenMask {
    const key = `${st.set}:${st.acc}:${st.need}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.walks++;
    const m = this.walk(st);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, m);
    return m;
  }

  private walk(st: ByteState): TokenMask {
    const t = this.trie;
    const m = new Uint32Array(maskWords(t.vocabSize));
    if (st.need === 0 && this.automaton.accepts(st.set)) for (const id of t.eosIds) if (id < t.vocabSize) m[id >>> 5] |= 1 << (id & 31);
    // states[d]: the packed state after the first d bytes of the current node's prefix.
    const states = new Float64Array(t.maxDepth + 1);
    states[0] = pack(st);
    const { depth, byte, end, tokenStart, tokens } = t;
    const n = t.nodes;
    for (let node = 1; node < n; ) {
      const d = depth[node];
      const next = stepPacked(this.automaton, states[d - 1], byte[node]);
      if (next === 0) {
        node = end[node];
        continue;
      }
      states[d] = next;
      for (let k = tokenStart[node]; k < tokenStart[node + 1]; k++) {
        const id = tokens[k];
        m[id >>> 5] |= 1 << (id & 31);
      }
      node++;
    }
    return m;
  }
}
