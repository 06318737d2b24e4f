import { type AdmissionReserve, DEFAULT_RESERVE } from '../scheduler/reserve.ts';
import { Scheduler } from '../scheduler/Scheduler.ts';
import type { SampledToken } from '../scheduler/StepPlan.ts';
import { prng } from './stats.ts';
import type { TraceRequest } from './trace.ts';

/** Same memory, same step rules, for both allocators. */
export interface ReplayParams {
  /** KV memory in token slots (numBlocks x blockSize for the paged pool). */
  memoryTokens: number;
  blockSize: number;
  /** The context each contiguous reservation takes (and the paged scheduler's maxModelLen). */
  contextTokens: number;
  maxBatchTokens: number;
  maxNumSeqs: number;
  steps: number;
}

export interface ReplayResult {
  allocator: 'paged' | 'contiguous';
  /** The paged scheduler's admission reserve (src/scheduler/reserve.ts); null for contiguous. */
  reserve: AdmissionReserve | null;
  /** Sum over steps of slots holding a token / sum of slots allocated to sequences. */
  utilization: number;
  /** Mean fraction of the whole memory allocated to sequences. */
  occupancy: number;
  seqsMean: number;
  seqsPeak: number;
  finished: number;
  generatedTokens: number;
  /** Tokens run through the (fake) forward: prompts, decodes, and recomputes after preemption. */
  computedTokens: number;
  preemptions: number;
  /** The issue-14 goal: at most 0.05 under saturation. */
  preemptionsPerFinished: number;
}

/** The counters both replays keep, step by step, and the result they make of them. */
class ReplayMeter {
  private stored = 0;
  private allocated = 0;
  private seqs = 0;
  private peak = 0;
  finished = 0;
  generated = 0;
  computed = 0;
  preemptions = 0;

  /** One step: slots holding tokens, slots allocated to sequences, sequences held. */
  step(stored: number, allocated: number, running: number): void {
    this.stored += stored;
    this.allocated += allocated;
    this.seqs += running;
    this.peak = Math.max(this.peak, running);
  }

  result(allocator: ReplayResult['allocator'], reserve: AdmissionReserve | null, p: ReplayParams): ReplayResult {
    return {
      allocator,
      reserve,
      utilization: this.stored / Math.max(1, this.allocated),
      occupancy: this.allocated / (p.memoryTokens * p.steps),
      seqsMean: this.seqs / p.steps,
      seqsPeak: this.peak,
      finished: this.finished,
      generatedTokens: this.generated,
      computedTokens: this.computed,
      preemptions: this.preemptions,
      preemptionsPerFinished: this.preemptions / Math.max(1, this.finished),
    };
  }
}

/**
 * Folio's real Scheduler and KvCache (paged blocks, chunked prefill, preemption by recompute)
 * with a fake forward: each step's sampled chunks get a random token. Every request of the trace
 * is queued at step 0 (a saturated server), and the replay runs a fixed number of steps.
 * `reserve`: what admission keeps free for the running sequences (NO_RESERVE: as before it).
 */
export function replayPaged(trace: readonly TraceRequest[], p: ReplayParams, reserve: AdmissionReserve = DEFAULT_RESERVE): ReplayResult {
  const s = new Scheduler({
    numBlocks: Math.floor(p.memoryTokens / p.blockSize),
    blockSize: p.blockSize,
    modelFingerprint: 'replay',
    maxBatchTokens: p.maxBatchTokens,
    maxNumSeqs: p.maxNumSeqs,
    maxModelLen: p.contextTokens,
    reserve,
  });
  for (const r of trace) s.add({ id: r.id, prompt: r.prompt, maxTokens: r.outputTokens, params: null });
  const rand = prng(7);
  const m = new ReplayMeter();
  for (let step = 0; step < p.steps && s.hasWork; step++) {
    const plan = s.schedule();
    m.preemptions += plan.preempted.length;
    m.computed += plan.numTokens;
    // Measured with the step's slots reserved and written, as the forward would see them.
    const st = s.stats();
    m.step(st.tokensStored, st.blocksUsed * p.blockSize, s.numRunning);
    const out: SampledToken[] = [];
    for (const c of plan.chunks) if (c.sample) out.push({ seqId: c.seqId, token: 4 + Math.floor(rand() * 32000) });
    m.generated += out.length;
    m.finished += s.appendTokens(out).length;
  }
  return m.result('paged', reserve, p);
}

interface ContiguousSeq {
  len: number;
  computed: number;
  generated: number;
  maxTokens: number;
}

/**
 * The baseline: each admitted sequence reserves a whole context of slots up front (its KV is one
 * contiguous [context, ...] region), so memory / context sequences fit at once whatever their
 * lengths. Same step rules as the Scheduler: token budget per step, decodes first, then prefill
 * chunks, FIFO admission while a reservation is free.
 */
export function replayContiguous(trace: readonly TraceRequest[], p: ReplayParams): ReplayResult {
  const slots = Math.floor(p.memoryTokens / p.contextTokens);
  const waiting: ContiguousSeq[] = trace.map((r) => ({ len: r.prompt.length, computed: 0, generated: 0, maxTokens: r.outputTokens }));
  let head = 0;
  let running: ContiguousSeq[] = [];
  const m = new ReplayMeter();
  const run = (seq: ContiguousSeq, budget: number): number => {
    const count = Math.min(seq.len - seq.computed, budget);
    seq.computed += count;
    m.computed += count;
    return count;
  };
  for (let step = 0; step < p.steps && (running.length > 0 || head < waiting.length); step++) {
    let budget = p.maxBatchTokens;
    const order = [...running.filter((q) => q.len - q.computed === 1), ...running.filter((q) => q.len - q.computed > 1)];
    const scheduled: ContiguousSeq[] = [];
    for (const q of order) {
      if (budget === 0) break;
      budget -= run(q, budget);
      scheduled.push(q);
    }
    while (head < waiting.length && running.length < Math.min(slots, p.maxNumSeqs) && budget > 0) {
      const q = waiting[head++];
      budget -= run(q, budget);
      running.push(q);
      scheduled.push(q);
    }
    m.step(running.reduce((n, q) => n + q.computed, 0), running.length * p.contextTokens, running.length);
    for (const q of scheduled) {
      if (q.computed < q.len) continue; // a prefill chunk that does not end the prompt
      q.generated++;
      q.len++;
      m.generated++;
    }
    const before = running.length;
    running = running.filter((q) => q.generated < q.maxTokens);
    m.finished += before - running.length;
  }
  return m.result('contiguous', null, p);
}
