import { BACKFILL_DEPTH } from '../admission.ts';
import type { StepPlan } from '../StepPlan.ts';

/**
 * The waiting queue as the scheduler promises to keep it, rebuilt from the outside: arrivals at
 * the back; each step admits from the front, in order; a preempted sequence goes back to the
 * front (plan.preempted lists the newest first, so the oldest ends up first). With `backfill`
 * (reserve.ts), a request among the BACKFILL_DEPTH behind the front may be admitted past it,
 * at most `backfill` times per request at the front. Whatever the scheduler does otherwise,
 * `step` throws: a later request overtaking an earlier one beyond that bound, or a preempted
 * one, is how a request could starve.
 */
export class QueueModel {
  private readonly queue: string[] = [];
  private readonly passed = new Map<string, number>();

  constructor(private readonly backfill = 0) {}

  arrive(id: string): void {
    this.queue.push(id);
  }

  step(plan: StepPlan): void {
    for (const id of plan.admitted) {
      const at = this.queue.indexOf(id);
      const front = this.queue[0];
      const n = this.passed.get(front) ?? 0;
      if (at !== 0 && !(at > 0 && at <= BACKFILL_DEPTH && n < this.backfill)) throw new Error(`admitted ${id} but the queue starts [${this.queue.slice(0, 3)}], passed over ${n} times`);
      if (at > 0) this.passed.set(front, n + 1);
      this.queue.splice(at, 1);
    }
    for (const id of plan.preempted) this.queue.unshift(id);
  }

  /** How many requests were admitted past each request while it was at the front. */
  get passedOver(): ReadonlyMap<string, number> {
    return this.passed;
  }

  get ids(): readonly string[] {
    return this.queue;
  }
}
