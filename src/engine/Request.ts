import type { TokenLogprob, Usage } from '../api/openai.ts';
import type { Sequence } from '../scheduler/Sequence.ts';
import { requestUsage } from '../scheduler/Sequence.ts';
import type { Constraint } from '../grammar/Constraint.ts';
import type { Rng } from '../sampling/Rng.ts';
import type { StreamDecoder } from '../tokenizer/StreamDecoder.ts';
import type { EngineEvent, EventSink } from './events.ts';
import type { GenerationRequest } from './GenerationRequest.ts';
import { StopFilter } from './StopFilter.ts';
import { noCounts } from '../speculative/Speculation.ts';

/** One of a request's n streams: its sequence in the scheduler, its text and its sampler. */
export interface Choice {
  index: number;
  seqId: string;
  decoder: StreamDecoder;
  stop: StopFilter;
  rng: Rng;
  done: boolean;
  /** The grammar state of a constrained request's choice (src/grammar/Constraint.ts); null when free. */
  constraint: Constraint | null;
}

/**
 * A request in flight inside the engine: its n choices, and the events gathered during a
 * step, sent to its sink in one batch at the end of the step.
 */
export class Request {
  readonly choices: Choice[] = [];
  /** Sequences of this request (forked children included), for usage. */
  readonly sequences: Sequence<Request>[] = [];
  forked = false;
  /** Speculative decoding's counts for `usage.speculative` (when the request speculates). */
  readonly speculativeCounts = noCounts();
  private pending: EngineEvent[] = [];

  constructor(
    readonly id: string,
    readonly params: GenerationRequest,
    private readonly sink: EventSink,
  ) {}

  choiceOf(seqId: string): Choice | undefined {
    return this.choices.find((c) => c.seqId === seqId);
  }

  get finished(): boolean {
    return this.choices.length === this.params.n && this.choices.every((c) => c.done);
  }

  /** Adds a decoded token's text to a choice; true when a stop string ended it. */
  emitText(choice: Choice, delta: string, logprobs: TokenLogprob[] | null): boolean {
    const { text, stopped } = choice.stop.push(delta);
    if (text || logprobs) this.pending.push({ type: 'delta', choice: choice.index, text, logprobs });
    return stopped;
  }

  finishChoice(choice: Choice, reason: 'stop' | 'length'): void {
    if (choice.done) return;
    choice.done = true;
    const rest = choice.decoder.flush();
    const { text, stopped } = choice.stop.push(rest);
    const tail = stopped ? text : text + choice.stop.flush();
    if (tail) this.pending.push({ type: 'delta', choice: choice.index, text: tail, logprobs: null });
    this.pending.push({ type: 'finish', choice: choice.index, reason });
  }

  usage(): Usage {
    const u = requestUsage(this.sequences);
    const usage: Usage = {
      prompt_tokens: u.promptTokens,
      completion_tokens: u.completionTokens,
      total_tokens: u.promptTokens + u.completionTokens,
      prompt_tokens_details: { cached_tokens: u.cachedPromptTokens },
    };
    const kv = this.sequences[0]?.kv;
    if (kv && (kv.budgetBlocks !== null || kv.overflow === 'shift')) usage.evicted_tokens = u.evictedTokens;
    if (this.params.speculative) usage.speculative = { ...this.speculativeCounts };
    return usage;
  }

  /**
   * Sends what the step produced; a finished request also gets its `done` event. False when
   * the sink threw: the engine then ends the request, and a sink's fault stays its own.
   */
  flush(): boolean {
    if (this.finished) this.pending.push({ type: 'done', usage: this.usage() });
    if (this.pending.length === 0) return true;
    const events = this.pending;
    this.pending = [];
    try {
      this.sink(events);
      return true;
    } catch {
      return false;
    }
  }

  /** The request's last event. A sink that throws here is not the engine's to handle. */
  fail(error: Error): void {
    this.pending = [];
    try {
      this.sink([{ type: 'error', error }]);
    } catch {
      // Nothing more can be told to it.
    }
  }
}
