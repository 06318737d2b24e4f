import type { BlockTable } from '../kv/BlockTable.ts';
import { type KvLimit, NO_LIMIT } from '../kv/eviction/KvLimit.ts';
import type { HashChain } from '../kv/PrefixCache.ts';

/**
 * waiting: queued, never admitted. running: holds blocks, computed each step.
 * preempted: its blocks were taken back; queued again to recompute. finished: done for good.
 */
export type SequenceStatus = 'waiting' | 'running' | 'preempted' | 'finished';

/** stop: EOS or a stop string (the engine's call); length: maxTokens; abort: cancelled. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  promptTokens: number;
  /** Prompt tokens whose KV came from the prefix cache instead of being computed. */
  cachedPromptTokens: number;
  completionTokens: number;
  /** Tokens whose KV was evicted (KV budget) or dropped by a context shift, over the request's life. */
  evictedTokens: number;
}

/**
 * One stream of tokens: a request's prompt and what has been generated after it.
 * `P` is the sampling parameters, which the scheduler carries without reading.
 */
export class Sequence<P = unknown> {
  readonly id: string;
  readonly requestId: string;
  readonly promptLength: number;
  readonly maxTokens: number;
  readonly params: P;
  /** The sequence this one was forked from (n > 1), if any. */
  readonly parentId: string | undefined;
  readonly table: BlockTable;
  /** Hashes of the full blocks of `tokens`, kept across preemption since tokens only grow. */
  readonly chain: HashChain;
  /** Its KV budget, eviction policy and what it does at the trained context. */
  readonly kv: KvLimit;
  /** Tokens evicted or dropped so far (a recompute after preemption counts its own again). */
  evictedTokens = 0;
  status: SequenceStatus = 'waiting';
  finishReason: FinishReason | undefined;
  /** Cache hits at first admission (a recompute after preemption does not count). */
  cachedPromptTokens = 0;
  /** Order of the last admission; the highest is preempted first. -1 before the first. */
  admittedAt = -1;
  /**
   * Speculative decoding: tokens proposed after `tokens`, not yet verified. Set before a step is
   * planned; the plan verifies a prefix of them in the decode's chunk (drafts.ts), then drops them.
   */
  draft: number[] = [];
  private readonly all: number[];

  constructor(init: {
    id: string;
    requestId: string;
    tokens: readonly number[];
    promptLength: number;
    maxTokens: number;
    params: P;
    parentId?: string;
    table: BlockTable;
    chain: HashChain;
    kv?: KvLimit;
  }) {
    this.id = init.id;
    this.requestId = init.requestId;
    this.all = [...init.tokens];
    this.promptLength = init.promptLength;
    this.maxTokens = init.maxTokens;
    this.params = init.params;
    this.parentId = init.parentId;
    this.table = init.table;
    this.chain = init.chain;
    this.kv = init.kv ?? NO_LIMIT;
  }

  /** Prompt then generated tokens. */
  get tokens(): readonly number[] {
    return this.all;
  }

  get promptTokens(): readonly number[] {
    return this.all.slice(0, this.promptLength);
  }

  get outputTokens(): readonly number[] {
    return this.all.slice(this.promptLength);
  }

  get numOutput(): number {
    return this.all.length - this.promptLength;
  }

  /** Tokens whose KV was computed (held, being written by the step in flight, or evicted since). */
  get numComputed(): number {
    return this.table.numSeen;
  }

  /** Tokens still to run through the model; 1 for a sequence that is decoding. */
  get numUncomputed(): number {
    return this.all.length - this.table.numSeen;
  }

  get isFinished(): boolean {
    return this.status === 'finished';
  }

  /** Only the scheduler appends, after the step that sampled the token. */
  appendToken(token: number): void {
    this.all.push(token);
  }

  /** A running child with every token so far, over `table` (a fork of this one's table). */
  forkAs(id: string, table: BlockTable): Sequence<P> {
    const child = new Sequence<P>({
      id,
      requestId: this.requestId,
      tokens: this.all,
      promptLength: this.promptLength,
      maxTokens: this.maxTokens,
      params: this.params,
      parentId: this.id,
      table,
      chain: this.chain.clone(),
      kv: this.kv,
    });
    child.status = 'running';
    child.cachedPromptTokens = this.cachedPromptTokens;
    child.evictedTokens = this.evictedTokens;
    return child;
  }

  usage(): Usage {
    return { promptTokens: this.promptLength, cachedPromptTokens: this.cachedPromptTokens, completionTokens: this.numOutput, evictedTokens: this.evictedTokens };
  }
}

/**
 * Usage of a whole request (all its sequences when n > 1): the prompt is counted once, from the
 * sequence that was not forked, and completions are summed.
 */
export function requestUsage(sequences: readonly Sequence<unknown>[]): Usage {
  const root = sequences.find((s) => s.parentId === undefined) ?? sequences[0];
  if (!root) return { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, evictedTokens: 0 };
  const completionTokens = sequences.reduce((sum, s) => sum + s.numOutput, 0);
  const evictedTokens = sequences.reduce((sum, s) => sum + s.evictedTokens, 0);
  return { promptTokens: root.promptLength, cachedPromptTokens: root.cachedPromptTokens, completionTokens, evictedTokens };
}
