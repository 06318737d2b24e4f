import { Rng } from '../sampling/Rng.ts';
import type { Scheduler } from '../scheduler/Scheduler.ts';
import type { Sequence } from '../scheduler/Sequence.ts';
import type { ScheduledChunk, StepPlan } from '../scheduler/StepPlan.ts';
import type { Request } from '../engine/Request.ts';
import { nextK } from './adaptiveK.ts';
import { chooseDraftLength, expectedTokens } from './draftLength.ts';
import type { DraftRequest, Drafter } from './Drafter.ts';
import { NgramDrafter } from './NgramDrafter.ts';
import { parseSpeculative, type SpeculativeLimits, type SpeculativeMethod, type SpeculativeParam } from './speculativeParams.ts';
import { StepCost } from './stepCost.ts';
import { type Verdict, verifyDraft } from './verify.ts';

/** The engine's options for speculative decoding (EngineOptions has them). */
export interface SpeculativeOptions {
  /** n-gram lookup always; loadEngine adds a draft model's drafter. */
  drafters?: Drafters;
  /** Every request's default unless it sets its own (`speculative: false` opts out). */
  speculative?: SpeculativeParam;
}

/** The drafters an engine offers: n-gram lookup always, a draft model when one is loaded (loadEngine). */
export interface Drafters {
  ngram?: Drafter;
  draft?: Drafter;
  /** The draft model's name, which a request's `draft_model` must match. */
  draftModel?: string;
}

/** Drafted, accepted, and target forwards (sampled chunks) of speculating requests. */
export interface SpeculativeCounts {
  drafted_tokens: number;
  accepted_tokens: number;
  target_forwards: number;
}

/** Offsets the drafting Rng's stream from the choices' (Rng offsets index * 0x9e3779b9). */
const DRAFT_STREAM = 0x51ec0de;

export const noCounts = (): SpeculativeCounts => ({ drafted_tokens: 0, accepted_tokens: 0, target_forwards: 0 });

/** A speculating sequence's draft length now, and the Rng a sampling drafter draws from (its own, so that the output's stays the target's). */
interface SeqState {
  k: number;
  rng: Rng | null;
  /** Accepted drafted tokens and drafted tokens the target decided on (up to the first rejected), recent ones weighing most. */
  accepted: number;
  tried: number;
}

/** How much of a sequence's acceptance history each verification keeps: about the last ten drafts count. */
const ACCEPTANCE_DECAY = 0.9;
/** The acceptance assumed before a sequence's first verification, worth this many drafted tokens. */
const PRIOR_ACCEPTANCE = 0.8;
const PRIOR_WEIGHT = 2;

/**
 * The engine's side of speculative decoding: before a step, drafts for the decoding sequences
 * whose request speculates (the scheduler turns them into verification chunks, src/scheduler/drafts.ts);
 * after the forward, verifies each such chunk (verify.ts) and adapts its k (adaptiveK.ts).
 */
export class Speculation {
  readonly totals = noCounts();
  readonly limits: SpeculativeLimits;
  private readonly drafters: Record<SpeculativeMethod, Drafter | undefined>;
  private readonly state = new Map<string, SeqState>();
  /** A sampling drafter's distributions for this step's drafts, by sequence. */
  private readonly probs = new Map<string, Float32Array[] | null>();
  private warned = false;
  /** What steps cost here, by rows, learned from every step (stepDone). */
  readonly cost = new StepCost();
  private stepStart = NaN;
  private draftModelRan = false;

  /**
   * `defaults`: the engine's `speculative` option, validated as a request's is (refused by name).
   * `vocabSize`: drafts are cut at the first id outside the vocabulary, which the forward could not embed.
   */
  constructor(drafters: Drafters = {}, defaults?: unknown, private readonly onWarning?: (message: string) => void, private readonly vocabSize = Infinity) {
    this.drafters = { ngram: drafters.ngram ?? new NgramDrafter(), draft: drafters.draft };
    const draftModel = drafters.draft ? (drafters.draftModel ?? 'draft') : null;
    const def = defaults === undefined || defaults === null ? null : parseSpeculative(defaults, draftModel, 'speculative (engine default)');
    this.limits = { default: def, draftModel };
  }

  /**
   * Sets the draft (Sequence.draft) of every running sequence that decodes and whose request
   * speculates, at most its k tokens (a greedy one: as many as pay best here, lengthFor) and
   * never past its maxTokens or the context. Drafters that fail cost their drafts for this step
   * only (a warning), never the requests. Null, at once, when no sequence wants a draft: a step
   * without speculation waits for nothing (not even a microtask, so that requests arriving
   * meanwhile join the next step, as without it). It also starts the step's clock (stepDone).
   */
  draft(scheduler: Scheduler<Request>): Promise<void> | null {
    this.stepStart = performance.now();
    this.draftModelRan = false;
    this.sweep(scheduler);
    const wanted: Record<SpeculativeMethod, { seq: Sequence<Request>; req: DraftRequest }[]> = { ngram: [], draft: [] };
    const running = scheduler.runningSequences;
    // No drafts while a long prompt is prefilled in pieces: a verification asks every row's logits
    // of the step, and a piece's hundreds of rows through the LM head would cost more than drafts
    // save. (A prompt admitted in this very step is not known yet: it pays that once, so that
    // steady arrivals, each prefilled in one step, leave speculation on.)
    if (running.some((s) => s.numUncomputed > 1)) return null;
    // The step as it stands before drafts: a row and a token per decode.
    const step = { rows: running.length, tokens: running.length };
    for (const seq of running) {
      const option = seq.params.params.speculative;
      const limited = seq.kv.budgetBlocks !== null || seq.kv.overflow === 'shift';
      // After the first output token, so that an n > 1 request has forked already (forks copy no draft slots).
      if (!option || limited || seq.numUncomputed !== 1 || seq.numOutput === 0) continue;
      const st = this.stateOf(seq, option.k);
      const maxLength = Math.min(st.k, seq.maxTokens - seq.numOutput - 1, (scheduler.maxModelLen ?? Infinity) - seq.tokens.length);
      if (maxLength < 1) continue;
      const s = seq.params.params.sampling;
      const room = s.temperature > 0 ? maxLength : this.lengthFor(st, option.method, maxLength, step);
      const rng = st.rng;
      const sampling = s.temperature > 0 && rng ? { temperature: s.temperature, topK: s.topK, topP: s.topP, next: () => rng.next() } : undefined;
      wanted[option.method].push({ seq, req: { seqId: seq.id, context: seq.tokens, k: room, sampling } });
    }
    return wanted.ngram.length + wanted.draft.length === 0 ? null : this.propose(wanted);
  }

  /**
   * A greedy sequence's draft length: the one with the most expected tokens per millisecond of
   * the step (draftLength.ts), at most `maxLength`; `step` then counts its rows and tokens.
   * Sampled sequences draft `maxLength`: a length chosen by timings would make a seeded
   * request's draws, and so its output, depend on the machine's load.
   */
  private lengthFor(st: SeqState, method: SpeculativeMethod, maxLength: number, step: { rows: number; tokens: number }): number {
    const kind = method === 'draft' ? 'draft' : 'plain';
    const alpha = (st.accepted + PRIOR_ACCEPTANCE * PRIOR_WEIGHT) / (st.tried + PRIOR_WEIGHT);
    const d = chooseDraftLength({ alpha, maxLength, ...step, cost: (rows) => this.cost.estimate(kind, rows) });
    step.rows += d;
    step.tokens += expectedTokens(alpha, d) - 1;
    return d;
  }

  private async propose(wanted: Record<SpeculativeMethod, { seq: Sequence<Request>; req: DraftRequest }[]>): Promise<void> {
    for (const method of ['ngram', 'draft'] as const) {
      const list = wanted[method];
      const drafter = this.drafters[method];
      if (list.length === 0 || !drafter) continue;
      if (method === 'draft') this.draftModelRan = true;
      try {
        const drafts = await drafter.propose(list.map((w) => w.req));
        list.forEach(({ seq, req }, i) => {
          const d = drafts[i];
          const tokens = d ? d.tokens.slice(0, req.k) : [];
          const bad = tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= this.vocabSize);
          seq.draft = bad < 0 ? tokens : tokens.slice(0, bad);
          this.probs.set(seq.id, d?.probs ?? null);
        });
      } catch (e) {
        if (!this.warned) this.onWarning?.(`speculative decoding: the ${method} drafter failed (${e instanceof Error ? e.message : String(e)}); decoding without drafts meanwhile`);
        this.warned = true;
      }
    }
  }

  /**
   * Verifies one chunk's draft against its rows (row i: the logits after chunk.tokens[i]) and
   * adapts the sequence's k. `next` is the choice's own Rng, so that the output stays seeded.
   */
  verify(seq: Sequence<Request>, chunk: ScheduledChunk, rows: Float32Array, vocab: number, next: () => number): Verdict {
    const draft = chunk.tokens.slice(1);
    const probs = this.probs.get(seq.id) ?? null;
    this.probs.delete(seq.id);
    const row = (i: number) => rows.subarray(i * vocab, (i + 1) * vocab);
    const verdict = verifyDraft(row, draft, probs, seq.params.params.sampling, next);
    const st = this.state.get(seq.id);
    const maxK = seq.params.params.speculative?.k ?? 1;
    if (st) {
      st.k = nextK(st.k, draft.length, verdict.accepted, maxK);
      // The drafts after the first rejected one were never decided on: they say nothing of acceptance.
      st.accepted = st.accepted * ACCEPTANCE_DECAY + verdict.accepted;
      st.tried = st.tried * ACCEPTANCE_DECAY + verdict.accepted + (verdict.accepted < draft.length ? 1 : 0);
    }
    this.totals.drafted_tokens += draft.length;
    this.totals.accepted_tokens += verdict.accepted;
    const mine = seq.params.speculativeCounts;
    mine.drafted_tokens += draft.length;
    mine.accepted_tokens += verdict.accepted;
    return verdict;
  }

  /**
   * The engine's step ended (sampled, appended, streamed): its wall time since draft() began
   * it, drafting included, goes into the cost table under the step's rows. Only steps of decodes
   * and verifications: a prefill chunk's rows cost otherwise (no logits but the last).
   */
  stepDone(plan: StepPlan): void {
    const ms = performance.now() - this.stepStart;
    this.stepStart = NaN;
    if (!plan.chunks.every((c) => c.tokens.length === 1 + (c.verify ?? 0))) return;
    this.cost.observe(this.draftModelRan ? 'draft' : 'plain', plan.numTokens, ms);
  }

  /** One target forward of a speculating request's sequence (a sampled chunk), for tokens per forward. */
  countForward(request: Request): void {
    if (!request.params.speculative) return;
    this.totals.target_forwards++;
    request.speculativeCounts.target_forwards++;
  }

  private stateOf(seq: Sequence<Request>, k: number): SeqState {
    let st = this.state.get(seq.id);
    if (!st) {
      const seed = seq.params.params.sampling.seed;
      const index = seq.params.choiceOf(seq.id)?.index ?? 0;
      // A stream of the request's seed apart from the choices' (which verification draws from).
      const rng = seq.params.params.sampling.temperature > 0 ? new Rng(seed === null ? (Math.random() * 2 ** 32) >>> 0 : seed, DRAFT_STREAM + index * 0x9e3779b9) : null;
      st = { k, rng, accepted: 0, tried: 0 };
      this.state.set(seq.id, st);
    }
    return st;
  }

  /** Frees the drafters' resources (a draft model's backend and KV) with the engine's backend. */
  dispose(): void {
    this.drafters.ngram?.dispose?.();
    this.drafters.draft?.dispose?.();
  }

  /** Drops what is kept for sequences no longer running (finished, aborted, preempted), and tells their drafters. */
  private sweep(scheduler: Scheduler<Request>): void {
    const running = new Set(scheduler.runningSequences.map((s) => s.id));
    for (const id of this.state.keys()) {
      if (running.has(id)) continue;
      this.state.delete(id);
      this.probs.delete(id);
      this.drafters.ngram?.release(id);
      this.drafters.draft?.release(id);
    }
  }
}
