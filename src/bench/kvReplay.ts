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
  /** Sum over steps of slots holding a token / sum of slots allocated to sequences. */
  utilization: number;
  /** Mean fraction of the whole memory allocated to sequences. */
  occupancy: number;
  seqsMean: number;
  seqsPeak: number;
  finished: number;
  generatedTokens: number;
  preemptions: number;
}

/**
 * Folio's real Scheduler and KvCache (paged blocks, chunked prefill, preemption by recompute)
 * with a fake forward: each step's sampled chunks get a random token. Every request of the trace
 * is queued at step 0 (a saturated server), and the replay runs a fixed number of steps.
 */
export function replayPaged(trace: readonly TraceRequest[], p: ReplayParams): ReplayResult {
  const s = new Scheduler({
    numBlocks: Math.floor(p.memoryTokens / p.blockSize),
    blockSize: p.blockSize,
    modelFingerprint: 'replay',
    maxBatchTokens: p.maxBatchTokens,
    maxNumSeqs: p.maxNumSeqs,
    maxModelLen: p.contextTokens,
  });
  for (const r of trace) s.add({ id: r.id, prompt: r.prompt, maxTokens: r.outputTokens, params: null });
  const rand = prng(7);
  let stored = 0;
  let allocated = 0;
  let seqs = 0;
  let peak = 0;
  let finished = 0;
  let generated = 0;
  let preemptions = 0;
  for (let step = 0; step < p.steps && s.hasWork; step++) {
    const plan = s.schedule();
    preemptions += plan.preempted.length;
    // Measured with the step's slots reserved and written, as the forward would see them.
    const st = s.stats();
    stored += st.tokensStored;
    allocated += st.blocksUsed * p.blockSize;
    seqs += s.numRunning;
    peak = Math.max(peak, s.numRunning);
    const out: SampledToken[] = [];
    for (const c of plan.chunks) if (c.sample) out.push({ seqId: c.seqId, token: 4 + Math.floor(rand() * 32000) });
    generated += out.length;
    finished += s.appendTokens(out).length;
  }
  return {
    allocator: 'paged',
    utilization: stored / Math.max(1, allocated),
    occupancy: allocated / (p.memoryTokens * p.steps),
    seqsMean: seqs / p.steps,
    seqsPeak: peak,
    finished,
    generatedTokens: generated,
    preemptions,
  };
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
  let stored = 0;
  let allocated = 0;
  let seqs = 0;
  let peak = 0;
  let finished = 0;
  let generated = 0;
  const run = (seq: ContiguousSeq, budget: number): number => {
    const count = Math.min(seq.len - seq.computed, budget);
    seq.computed += count;
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
    for (const q of running) stored += q.computed;
    allocated += running.length * p.contextTokens;
    seqs += running.length;
    peak = Math.max(peak, running.length);
    for (const q of scheduled) {
      if (q.computed < q.len) continue; // a prefill chunk that does not end the prompt
      q.generated++;
      q.len++;
      generated++;
    }
    const before = running.length;
    running = running.filter((q) => q.generated < q.maxTokens);
    finished += before - running.length;
  }
  return {
    allocator: 'contiguous',
    utilization: stored / Math.max(1, allocated),
    occupancy: allocated / (p.memoryTokens * p.steps),
    seqsMean: seqs / p.steps,
    seqsPeak: peak,
    finished,
    generatedTokens: generated,
    preemptions: 0,
  };
}
