import { InvalidParamsError } from '../errors.ts';
import type { BlockSnapshot, KvStats } from '../kv/KvAccounting.ts';
import { KvCache } from '../kv/KvCache.ts';
import { makeRoom } from '../kv/eviction/makeRoom.ts';
import type { CopyPair, KeyShift } from '../kv/BlockTable.ts';
import { admissionCap, blocksToScore } from './kvLimits.ts';
import { Backfill, planAdmission } from './admission.ts';
import { type AdmissionReserve, checkReserve, DEFAULT_RESERVE, GrowthForecast } from './reserve.ts';
import { type FinishReason, Sequence } from './Sequence.ts';
import { type SampledToken, StepBuilder, type StepPlan } from './StepPlan.ts';
import { type AddRequest, validateRequest } from './validateRequest.ts';
import { fitDrafts, rollback } from './drafts.ts';

export type { AddRequest };

export interface SchedulerOptions {
  numBlocks: number;
  /** Tokens per KV block; 16 by default. */
  blockSize?: number;
  /** Salts the prefix-cache hashes: KV is only shared between prompts of the same model. */
  modelFingerprint: string;
  /** Tokens per step, decodes and prefill chunks together; 512 by default. */
  maxBatchTokens?: number;
  /** Sequences running at once; 64 by default. */
  maxNumSeqs?: number;
  /** The model's context length; when given, prompt + maxTokens must fit in it. */
  maxModelLen?: number;
  /** Free blocks admission keeps for the running sequences' growth; DEFAULT_RESERVE (reserve.ts) by default. */
  reserve?: AdmissionReserve;
}

/**
 * Continuous batching over one paged KV pool, as vLLM does. Each step: every running sequence
 * decodes one token, running prefills continue, then waiting requests are admitted in FIFO order
 * while the token budget and the free blocks allow, keeping a reserve for the running sequences'
 * next blocks (reserve.ts), long prompts prefilled in chunks. The engine alternates schedule()
 * -> copies + forward -> appendTokens().
 */
export class Scheduler<P = unknown> {
  readonly kv: KvCache;
  readonly maxBatchTokens: number;
  readonly maxNumSeqs: number;
  readonly maxModelLen: number | undefined;
  readonly reserve: AdmissionReserve;
  private readonly waiting: Sequence<P>[] = [];
  /** In admission order: the last one is preempted first. */
  private readonly running: Sequence<P>[] = [];
  private readonly live = new Map<string, Sequence<P>>();
  private inFlight: StepPlan | null = null;
  private admissions = 0;
  private readonly backfill: Backfill<Sequence<P>>;

  constructor(opts: SchedulerOptions) {
    this.kv = new KvCache({ numBlocks: opts.numBlocks, blockSize: opts.blockSize, modelFingerprint: opts.modelFingerprint });
    this.maxBatchTokens = opts.maxBatchTokens ?? 512;
    this.maxNumSeqs = opts.maxNumSeqs ?? 64;
    this.maxModelLen = opts.maxModelLen;
    this.reserve = { ...(opts.reserve ?? DEFAULT_RESERVE) };
    checkReserve(this.reserve);
    this.backfill = new Backfill(this.reserve.backfill ?? 0);
    if (!(this.maxBatchTokens >= 1) || !(this.maxNumSeqs >= 1)) throw new RangeError('maxBatchTokens and maxNumSeqs must be at least 1');
  }

  get blockSize(): number {
    return this.kv.blockSize;
  }

  get hasWork(): boolean {
    return this.waiting.length + this.running.length > 0;
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  get(seqId: string): Sequence<P> | undefined {
    return this.live.get(seqId);
  }

  /** The running sequences, in admission order (speculative decoding drafts for them). */
  get runningSequences(): readonly Sequence<P>[] {
    return this.running;
  }

  /** Queues a request. Refuses it only if it could never fit, even alone in the whole pool. */
  add(req: AddRequest<P>): Sequence<P> {
    if (!req.id || this.live.has(req.id)) throw new InvalidParamsError('id', `must be a new, non-empty id, got "${req.id}"`);
    validateRequest(req, { blockSize: this.blockSize, numBlocks: this.kv.numBlocks, maxModelLen: this.maxModelLen });
    const seq = new Sequence<P>({
      id: req.id,
      requestId: req.requestId ?? req.id,
      tokens: req.prompt,
      promptLength: req.prompt.length,
      maxTokens: req.maxTokens,
      params: req.params,
      table: this.kv.createTable(req.id),
      chain: this.kv.prefix.newChain(req.cacheSalt),
      kv: req.kv,
    });
    this.waiting.push(seq);
    this.live.set(seq.id, seq);
    return seq;
  }

  /**
   * Plans one step. Its copies satisfy src/kv/copyPlan.ts (a set: no block copied to twice, none
   * both copied from and to): each destination is fresh from the free queue, and the pool never
   * takes a block that a planned copy reads as a destination until the plan is sealed here
   * (endStep). build() checks it.
   */
  schedule(): StepPlan {
    if (this.inFlight) throw new Error('schedule() called twice: appendTokens() must follow each step');
    try {
      this.inFlight = this.plan();
    } finally {
      this.kv.pool.endStep();
    }
    return this.inFlight;
  }

  private plan(): StepPlan {
    const step = new StepBuilder(this.maxBatchTokens);
    const preempted: string[] = [];
    const order = [...this.running];
    for (const seq of order) {
      if (seq.numUncomputed === 0) throw new Error(`sequence ${seq.id} has no token to compute: appendTokens() must give it one`);
    }
    // Decodes before prefill chunks, so that a long prompt never stalls the others' streams.
    const decodes = order.filter((s) => s.numUncomputed === 1);
    const prefills = order.filter((s) => s.numUncomputed > 1);
    fitDrafts(decodes, step.budget, this.kv.pool, this.maxModelLen);
    for (const seq of [...decodes, ...prefills]) {
      if (step.budget === 0) break;
      if (seq.status === 'running') this.scheduleRunning(seq, Math.min(seq.numUncomputed + seq.draft.length, step.budget), step, preempted);
    }
    // A draft is for this step only: the plan holds what it verifies.
    for (const seq of order) seq.draft = [];
    // Admitting now would only preempt again next step, unless nothing would run (a sequence
    // whose context shift found no block for a copy preempted itself: readmitted at once).
    const admitted = preempted.length === 0 || step.isEmpty ? this.admitWaiting(step) : [];
    return step.build(preempted, admitted, this.kv.numBlocks);
  }

  /**
   * Admits from the head of the queue (FIFO, preempted sequences first: preempt() puts them
   * there) while the budgets allow and the free blocks keep the reserve (reserve.ts). A later
   * request passes a head that does not fit only as a bounded backfill (admission.ts); and the
   * reserve is waived while nothing runs, so the head, which fits the pool alone, is admitted
   * at the latest once the running sequences have finished: no request waits forever, and
   * admission never deadlocks.
   */
  private admitWaiting(step: StepBuilder): string[] {
    const admitted: string[] = [];
    let forecast: GrowthForecast | undefined;
    while (this.waiting.length > 0 && this.running.length < this.maxNumSeqs && step.budget > 0) {
      if (this.running.length > 0 && !forecast) {
        forecast = new GrowthForecast(this.reserve, this.kv.pool, this.blockSize);
        for (const seq of this.running) forecast.addRunning(seq);
      }
      const head = this.waiting[0];
      const seq = this.admit(head, step, forecast) ? head : forecast && this.backfill.pick(this.waiting, (s) => this.admit(s, step, forecast));
      if (!seq) break;
      removeFrom(this.waiting, seq);
      forecast?.addRunning(seq);
      admitted.push(seq.id);
    }
    return admitted;
  }

  /**
   * Records the tokens sampled from the step's logits (one per chunk with `sample`, plus any
   * children forked since; after a verification chunk, its accepted drafts first, whose rejected
   * slots are rolled back before anything is hashed: drafts.ts), hashes the blocks the step
   * filled, and finishes sequences that reached maxTokens. Returns those.
   */
  appendTokens(results: readonly SampledToken[]): Sequence<P>[] {
    const plan = this.inFlight;
    if (!plan) throw new Error('appendTokens() without a scheduled step');
    const given = new Map<string, number>();
    const verified = new Map(plan.chunks.filter((c) => c.verify).map((c) => [c.seqId, c]));
    for (const r of results) {
      if (given.has(r.seqId)) throw new Error(`two tokens for sequence ${r.seqId}`);
      if (!Number.isInteger(r.token) || r.token < 0) throw new RangeError(`token ${r.token} for ${r.seqId} is not a token id`);
      const seq = this.live.get(r.seqId);
      const drafted = verified.get(r.seqId)?.verify ?? 0;
      if (seq?.status === 'running' && seq.numUncomputed + drafted !== 0) throw new Error(`sequence ${r.seqId} was not sampled this step`);
      if ((r.accepted ?? 0) > drafted) throw new RangeError(`${r.accepted} drafts accepted for ${r.seqId}, which drafted ${drafted}`);
      given.set(r.seqId, r.token);
    }
    for (const chunk of plan.chunks) {
      const seq = this.live.get(chunk.seqId);
      if (chunk.sample && seq?.status === 'running' && !given.has(chunk.seqId)) throw new Error(`no token for sequence ${chunk.seqId}`);
    }
    this.inFlight = null;
    const accepted = new Map(results.map((r) => [r.seqId, r.accepted ?? 0]));
    for (const chunk of plan.chunks) {
      const seq = this.live.get(chunk.seqId);
      if (seq?.status !== 'running') continue;
      if (chunk.verify) rollback(seq, chunk, accepted.get(chunk.seqId) ?? 0, this.kv.pool);
      this.kv.prefix.commit(seq.table, seq.chain, seq.tokens);
    }
    const finished: Sequence<P>[] = [];
    for (const [seqId, token] of given) {
      const seq = this.live.get(seqId);
      if (seq?.status !== 'running') continue; // finished or aborted while the step ran
      seq.appendToken(token);
      if (seq.numOutput >= seq.maxTokens) {
        this.finish(seqId, 'length');
        finished.push(seq);
      }
    }
    return finished;
  }

  /** Ends a sequence (EOS, stop string, maxTokens, abort) and frees its blocks at once. */
  finish(seqId: string, reason: FinishReason): void {
    const seq = this.live.get(seqId);
    if (!seq) return;
    removeFrom(this.running, seq);
    removeFrom(this.waiting, seq);
    this.kv.dropTable(seq.table);
    seq.status = 'finished';
    seq.finishReason = reason;
    this.live.delete(seqId);
  }

  abort(seqId: string): void {
    this.finish(seqId, 'abort');
  }

  /**
   * n > 1 fan-out: once the prompt is prefilled (best between the forward and appendTokens(),
   * so that each child gets its own first token), adds n - 1 children sharing every block.
   * A child's first append into the shared partial block copies it (copy-on-write).
   */
  fork(seqId: string, n: number, childIds?: readonly string[]): Sequence<P>[] {
    const seq = this.live.get(seqId);
    if (!Number.isInteger(n) || n < 1) throw new InvalidParamsError('n', `must be a positive integer, got ${n}`);
    if (!seq || seq.status !== 'running' || seq.numUncomputed > 1) {
      throw new Error(`sequence ${seqId} cannot be forked: it must be running with its prompt prefilled`);
    }
    const children: Sequence<P>[] = [];
    for (let i = 1; i < n; i++) {
      const id = childIds?.[i - 1] ?? `${seq.id}#${i}`;
      if (this.live.has(id)) throw new InvalidParamsError('id', `sequence ${id} already exists`);
      const child = seq.forkAs(id, this.kv.forkTable(seq.table, id));
      child.admittedAt = this.admissions++;
      this.running.push(child);
      this.live.set(id, child);
      children.push(child);
    }
    return children;
  }

  stats(): KvStats {
    return this.kv.stats();
  }

  /** Full blocks of running 'paged-eviction' sequences that the device has not scored yet. */
  blocksToScore(): number[] {
    return blocksToScore(this.running, this.kv.pool);
  }

  snapshot(): BlockSnapshot[] {
    return this.kv.snapshot();
  }

  /**
   * Gives a running sequence up to `count` more slots, preempting the newest sequences until
   * they fit; first evicts or shifts its context as its KV limit says (makeRoom).
   */
  private scheduleRunning(seq: Sequence<P>, want: number, step: StepBuilder, preempted: string[]): void {
    const moves: { copies: CopyPair[]; shifts: KeyShift[] } = { copies: [], shifts: [] };
    let count = 0;
    for (;;) {
      if (count === 0) {
        const room = makeRoom(seq.table, want, seq.kv, this.kv.pool, this.maxModelLen);
        if (room) {
          seq.evictedTokens += room.evicted;
          moves.copies.push(...room.copies);
          moves.shifts.push(...room.shifts);
          count = room.count;
        }
      }
      const start = seq.numComputed;
      const copies = count > 0 ? seq.table.append(count, this.kv.pool) : null;
      if (copies) {
        step.add(seq, start, count, [...moves.copies, ...copies], moves.shifts);
        return;
      }
      const victim = this.running[this.running.length - 1];
      this.preempt(victim, step);
      preempted.push(victim.id);
      if (victim === seq) return;
    }
  }

  /**
   * Preemption by recompute: drop every block, recompute prompt + output later. The sequence goes
   * to the front of the queue, before everything that waited behind it (several preempted in one
   * step keep their admission order, the newest being preempted first), so it is readmitted first.
   */
  private preempt(seq: Sequence<P>, step: StepBuilder): void {
    step.remove(seq.id);
    removeFrom(this.running, seq);
    seq.table.free(this.kv.pool);
    seq.status = 'preempted';
    this.waiting.unshift(seq);
  }

  /** Admits the head of the queue if its blocks fit, keeping the reserve `forecast` measures; prefix hits fill its table. */
  private admit(seq: Sequence<P>, step: StepBuilder, forecast: GrowthForecast | undefined): boolean {
    const plan = planAdmission(seq, this.kv, step.budget, forecast, admissionCap(seq.kv, this.blockSize, this.maxModelLen));
    if (!plan) return false;
    seq.table.adopt(plan.hits, plan.computed, this.kv.pool);
    const copies = seq.table.append(plan.count, this.kv.pool);
    if (!copies) throw new Error('admission cost was checked, yet the blocks ran out');
    this.kv.prefix.recordLookup(Math.floor(seq.tokens.length / this.blockSize), plan.hits.length);
    if (seq.admittedAt < 0) seq.cachedPromptTokens = Math.min(plan.computed, seq.promptLength);
    seq.status = 'running';
    seq.admittedAt = this.admissions++;
    this.running.push(seq);
    step.add(seq, plan.computed, plan.count, copies);
    return true;
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
