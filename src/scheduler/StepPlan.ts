import type { ForwardBatch, SequenceChunk } from '../kv/batch.ts';
import type { CopyPair, KeyShift } from '../kv/BlockTable.ts';
import { copyPlanViolation } from '../kv/copyPlan.ts';
import type { Sequence } from './Sequence.ts';

/** A SequenceChunk (as the backends take it) that also says whose it is and what to do after. */
export interface ScheduledChunk extends SequenceChunk {
  seqId: string;
  /** The chunk ends at the sequence's last token: sample the next one from its logits. */
  sample: boolean;
  /**
   * Speculative decoding: the chunk's last `verify` tokens are drafted, not yet accepted, and
   * every row's logits come back to verify them (drafts.ts). Absent: an ordinary chunk.
   */
  verify?: number;
}

/** What one engine step must do, in order: the copies, then one forward over the chunks. */
export interface StepPlan {
  /** One chunk per scheduled sequence: decodes first, then prefill chunks. */
  chunks: ScheduledChunk[];
  /**
   * Copy-on-write block copies (src, dst), all layers, to run before the forward: a set, as
   * src/kv/copyPlan.ts defines (no block copied to twice, none both copied from and to).
   */
  copies: CopyPair[];
  /** Context shifts' key rotations, to run after the copies and before the forward. */
  shifts: KeyShift[];
  /** Sequences whose blocks were taken back this step; they wait to be recomputed. */
  preempted: string[];
  /** Sequences admitted from the queue this step, in queue order (readmitted preempted ones too). */
  admitted: string[];
  /** Tokens in the batch (at most maxBatchTokens). */
  numTokens: number;
}

/** The engine's answer for one sampled chunk. */
export interface SampledToken {
  seqId: string;
  token: number;
  /** A verification chunk's drafted tokens accepted before `token` (0 when absent). */
  accepted?: number;
}

/**
 * The batch to hand a ForwardBackend for a plan: each chunk's last logits, or every row's when a
 * chunk verifies drafts (the backends choose per batch, so the other chunks' rows come too).
 */
export function forwardBatchOf(plan: StepPlan): ForwardBatch {
  return { chunks: plan.chunks, logits: plan.chunks.some((c) => c.verify) ? 'all' : 'last' };
}

/**
 * A plan under construction. A sequence already given a chunk can be taken out again when it is
 * preempted later in the same step (its blocks, copies included, were given back).
 */
export class StepBuilder {
  private readonly entries = new Map<string, { chunk: ScheduledChunk; copies: CopyPair[]; shifts: KeyShift[] }>();
  private left: number;

  constructor(maxTokens: number) {
    this.left = maxTokens;
  }

  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** Tokens that may still join this step. */
  get budget(): number {
    return this.left;
  }

  /**
   * Adds `seq`'s tokens [start, start + count), whose slots its table has just reserved (the
   * last `count` cache entries), at the positions the table gives them.
   */
  add(seq: Sequence<unknown>, start: number, count: number, copies: CopyPair[], shifts: KeyShift[] = []): void {
    const cacheStart = seq.table.numTokens - count;
    const own = seq.tokens.slice(start, start + count);
    // Past the sequence's tokens: its draft (drafts.ts).
    const drafted = count - own.length;
    const chunk: ScheduledChunk = {
      seqId: seq.id,
      tokens: drafted > 0 ? [...own, ...seq.draft.slice(0, drafted)] : own,
      startPos: seq.table.positionAt(cacheStart),
      cacheStart,
      blockTable: [...seq.table.blocks],
      sample: start + count >= seq.tokens.length,
      ...(drafted > 0 ? { verify: drafted } : {}),
    };
    this.entries.set(seq.id, { chunk, copies, shifts });
    this.left -= count;
  }

  remove(seqId: string): void {
    const entry = this.entries.get(seqId);
    if (!entry) return;
    this.entries.delete(seqId);
    this.left += entry.chunk.tokens.length;
  }

  /** The plan; throws if its copies break src/kv/copyPlan.ts (a scheduler bug), before any backend runs them. */
  build(preempted: string[], admitted: string[], numBlocks: number): StepPlan {
    const chunks: ScheduledChunk[] = [];
    const copies: CopyPair[] = [];
    const shifts: KeyShift[] = [];
    let numTokens = 0;
    for (const { chunk, copies: c, shifts: s } of this.entries.values()) {
      chunks.push(chunk);
      copies.push(...c);
      shifts.push(...s);
      numTokens += chunk.tokens.length;
    }
    const broken = copyPlanViolation(copies, numBlocks);
    if (broken) throw new Error(`the scheduler planned copies that break the copy-plan invariant: ${broken}`);
    return { chunks, copies, shifts, preempted, admitted, numTokens };
  }
}
