import { GrammarDeadEndError } from '../errors.ts';
import type { TokenMask } from '../sampling/logitAdjustments.ts';
import type { Grammar } from './Grammar.ts';
import { Automaton, type ByteState, stepByte } from './Matcher.ts';
import { TokenMasker } from './TokenMasker.ts';
import type { TokenTrie } from './TokenTrie.ts';
import type { TokenVocabulary } from './tokenBytes.ts';

const maskers = new WeakMap<Grammar, WeakMap<TokenTrie, TokenMasker>>();

/** One masker per (grammar, vocabulary): the n choices of a request share its memo and cache. */
export function maskerFor(grammar: Grammar, trie: TokenTrie): TokenMasker {
  let byTrie = maskers.get(grammar);
  if (!byTrie) maskers.set(grammar, (byTrie = new WeakMap()));
  let m = byTrie.get(trie);
  if (!m) byTrie.set(trie, (m = new TokenMasker(new Automaton(grammar), trie)));
  return m;
}

/** A choice's constraint at the grammar's start. */
export function newConstraint(grammar: Grammar, vocab: TokenVocabulary): Constraint {
  return new Constraint(maskerFor(grammar, vocab.trie), (id) => vocab.bytes[id] ?? null);
}

/**
 * One choice's grammar state: the mask of the tokens it may sample next, and the advance by the
 * token it sampled. A choice that can no longer go on (the grammar is complete and takes no more
 * characters) is `finished`: the engine ends it as it would at EOS.
 */
export class Constraint {
  private state: ByteState;
  private text = '';
  /** A token may end inside a character (a byte-fallback token): its bytes wait for the rest. */
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    private readonly masker: TokenMasker,
    private readonly bytesOf: (id: number) => Uint8Array | null,
  ) {
    this.state = { set: masker.automaton.start, acc: 0, need: 0 };
  }

  /** The tokens allowed now; a GrammarDeadEndError when there are none. */
  mask(): TokenMask {
    const m = this.masker.mask(this.state);
    if (!m.some((w) => w !== 0)) throw this.deadEnd('no token of the vocabulary can continue the grammar here');
    return m;
  }

  /** Advances by a sampled token (not EOS); a GrammarDeadEndError for one the mask did not allow. */
  accept(id: number): void {
    const bytes = this.bytesOf(id);
    if (!bytes) throw this.deadEnd(`token ${id} has no bytes the grammar can take`);
    let st = this.state;
    for (const b of bytes) {
      st = stepByte(this.masker.automaton, st, b);
      if (st.set === 0) throw this.deadEnd(`token ${id} does not fit the grammar here`);
    }
    this.state = st;
    this.text += this.decoder.decode(bytes, { stream: true });
  }

  get finished(): boolean {
    const a = this.masker.automaton;
    return this.state.need === 0 && a.accepts(this.state.set) && !a.canContinue(this.state.set);
  }

  private deadEnd(why: string): GrammarDeadEndError {
    return new GrammarDeadEndError(this.text, `the grammar reached a dead end after ${JSON.stringify(this.text.slice(-60))}: ${why}`);
  }
}
