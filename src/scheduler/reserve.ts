import { blocksFor } from '../kv/batch.ts';
import type { BlockPool } from '../kv/BlockPool.ts';
import { appendCost, type BlockId } from '../kv/BlockTable.ts';
import { maxHeldBlocks } from '../kv/eviction/KvLimit.ts';
import type { Sequence } from './Sequence.ts';

/**
 * What admission leaves free for the sequences already running, so that their next blocks need
 * not be taken back from another sequence by preemption.
 *
 * vLLM admits a prompt only while its free blocks, minus the prompt's, stay at or above a
 * watermark, 1% of the pool by default (`watermark_blocks`, in its block manager's
 * `can_allocate`). A fixed fraction does not follow the load, though, while what the running
 * sequences will take is known step by step: one token a step each (at worst the rest of a
 * prompt at once), never past prompt + maxTokens, and one that reaches maxTokens gives its blocks
 * back. So the default reserve is that forecast over `lookaheadSteps` steps: a request is
 * admitted only if every step of the window still finds its blocks free (GrowthForecast).
 *
 * A reserve holds blocks idle until the running sequences grow into them, so on its own it
 * finishes fewer requests than overcommitting and preempting (which, with a token budget to
 * spare, recomputes the victims almost for free). What wins them back is backfill: while the
 * head of the queue waits for room, a later request whose own forecast fits is admitted past
 * it, at most `backfill` times per head (admission.ts), so no request waits forever.
 *
 * Measured on the bench's KV trace (src/bench/kvReplay.ts: 1,500 requests queued on 2,048
 * blocks of 16, ~80 decoding; seeds 1/2/3, finished / preemptions): no reserve 553/590,
 * 601/565, 612/560; lookahead 32 without backfill 544/25, 595/22, 604/14 (8 steps still costs
 * 5 requests on seed 1, at 155 preemptions); lookahead 64 with backfill 64 (the default)
 * 566/5, 621/9, 617/0, computing a quarter fewer tokens than no reserve (backfill 16: 555/10,
 * 610/13, 614/0). A window of steps,
 * not of blocks, holds at any block size. `poolFraction` adds vLLM's watermark on top, for load
 * the forecast cannot see (a fork adds sequences without admission); 0 by default.
 */
export interface AdmissionReserve {
  /** Steps of the running sequences' growth that admission keeps free (0: none). */
  lookaheadSteps: number;
  /** Blocks kept free besides, as a fraction of the pool, rounded down: vLLM's watermark. */
  poolFraction: number;
  /**
   * How many later requests may be admitted past a head of the queue that does not fit (each
   * keeping the reserve), before admission waits for the head; 0 or absent: strict FIFO.
   */
  backfill?: number;
}

export const DEFAULT_RESERVE: AdmissionReserve = { lookaheadSteps: 64, poolFraction: 0, backfill: 64 };

/** Admits as the scheduler did before the reserve: any request whose step fits the free blocks. */
export const NO_RESERVE: AdmissionReserve = { lookaheadSteps: 0, poolFraction: 0 };

export function checkReserve(r: AdmissionReserve): void {
  if (!Number.isInteger(r.lookaheadSteps) || r.lookaheadSteps < 0) throw new RangeError(`reserve.lookaheadSteps must be a non-negative integer, got ${r.lookaheadSteps}`);
  if (!(r.poolFraction >= 0 && r.poolFraction < 1)) throw new RangeError(`reserve.poolFraction must be in [0, 1), got ${r.poolFraction}`);
  if (r.backfill !== undefined && !(Number.isInteger(r.backfill) && r.backfill >= 0)) throw new RangeError(`reserve.backfill must be a non-negative integer, got ${r.backfill}`);
}

/**
 * The blocks the running sequences will take and give back over the window, step by step:
 * take[k] in step k (0: the step being planned, already allocated for those running), back[k]
 * at its end, from sequences that reach maxTokens there (a stop or an abort only frees blocks
 * sooner). Admission keeps every step covered: sum(take[0..k]) - sum(back[0..k-1]) never
 * exceeds the free blocks less the watermark.
 */
export class GrowthForecast {
  private readonly take: Int32Array;
  private readonly back: Int32Array;
  /** Held blocks counted in back, and when: a later holder (a prefix hit) keeps them from coming back. */
  private readonly credited = new Map<BlockId, number>();

  constructor(
    private readonly rule: AdmissionReserve,
    private readonly pool: BlockPool,
    private readonly blockSize: number,
  ) {
    this.take = new Int32Array(rule.lookaheadSteps + 1);
    this.back = new Int32Array(rule.lookaheadSteps + 1);
  }

  /** Adds a running sequence, its blocks for the step being planned already allocated. */
  addRunning(seq: Sequence<unknown>): void {
    const blocks = seq.table.blocks;
    for (const b of blocks) {
      const k = this.credited.get(b);
      if (k === undefined) continue;
      this.back[k]--;
      this.credited.delete(b);
    }
    const held = seq.table.numTokens;
    const p = profile(seq, blocks, held, held, 1, this.rule.lookaheadSteps, this.pool, this.blockSize);
    for (let k = 0; k < p.take.length; k++) {
      this.take[k] += p.take[k];
      this.back[k] += p.back[k];
    }
    if (p.end >= 0) for (const b of p.own) this.credited.set(b, p.end);
  }

  /**
   * Whether admitting `seq` over prefix hits `hits` that cover `filled` positions, computing up
   * to `computed` in this step, keeps every step of the window covered.
   */
  admits(seq: Sequence<unknown>, hits: readonly BlockId[], filled: number, computed: number): boolean {
    const p = profile(seq, hits, filled, computed, 0, this.rule.lookaheadSteps, this.pool, this.blockSize);
    const lost = new Int32Array(this.back.length);
    for (const b of hits) {
      const k = this.credited.get(b);
      if (k !== undefined) lost[k]++;
    }
    const room = this.pool.numFree - Math.floor(this.rule.poolFraction * this.pool.numBlocks);
    let held = 0;
    for (let k = 0; k < this.take.length; k++) {
      held += this.take[k] + p.take[k];
      if (held > room) return false;
      held -= this.back[k] + p.back[k] - lost[k];
    }
    return true;
  }
}

interface Profile {
  take: Int32Array;
  back: Int32Array;
  /** The step at whose end the sequence gives its blocks back, or -1 past the window. */
  end: number;
  /** The held blocks given back then: those only this sequence holds. */
  own: BlockId[];
}

/**
 * One sequence's take and back over `steps` steps (see GrowthForecast), from `blocks` with
 * `filled` positions to `computed` in the step being planned. `soleRefs`: the reference count
 * of a held block that only this sequence holds: 1 for a running sequence, 0 for prefix hits
 * that admission would revive from the free queue.
 */
function profile(seq: Sequence<unknown>, blocks: readonly BlockId[], filled: number, computed: number, soleRefs: 0 | 1, steps: number, pool: BlockPool, bs: number): Profile {
  const take = new Int32Array(steps + 1);
  const back = new Int32Array(steps + 1);
  // A prefill may end in the next step (the token budget permitting), so its whole prompt
  // counts there; then one token a step, never past prompt + maxTokens - 1 (the last sampled
  // token is never computed).
  // Counted in cache entries: tokens less those evicted, and never past the KV budget.
  const dropped = seq.table.droppedTokens;
  const last = seq.promptLength + seq.maxTokens - 1 - dropped;
  const target = (k: number) => (k === 0 ? computed : Math.max(computed, Math.min(seq.tokens.length - dropped + k, last)));
  const cap = maxHeldBlocks(seq.kv);
  const fresh = (k: number) => Math.max(0, Math.min(blocksFor(target(k), bs), cap) - blocks.length);
  // A copy-on-write, and hits revived from the free queue, are taken with the first write.
  const extra = target(steps) > filled ? appendCost(blocks, filled, target(steps) - filled, bs, pool) - Math.max(0, blocksFor(target(steps), bs) - blocks.length) : 0;
  let firstWrite = true;
  for (let k = 0; k <= steps; k++) {
    take[k] = fresh(k) - (k > 0 ? fresh(k - 1) : 0);
    if (firstWrite && target(k) > filled) {
      take[k] += extra;
      firstWrite = false;
    }
  }
  // Only a sequence that samples in this step (its prompt done) is sure to end on time.
  const end = computed === seq.tokens.length - dropped ? seq.maxTokens - seq.numOutput - 1 : -1;
  if (end < 0 || end >= steps) return { take, back, end: -1, own: [] };
  let revived = 0;
  for (const b of blocks) if (pool.refCount(b) === 0) revived++;
  const copied = extra > revived ? Math.floor(filled / bs) : -1;
  const own = blocks.filter((b, i) => i !== copied && pool.refCount(b) === soleRefs);
  back[end] = own.length + (copied >= 0 ? 1 : 0) + fresh(end);
  return { take, back, end, own };
}
