import type { StepPlan } from '../StepPlan.ts';

/**
 * The waiting queue as the scheduler promises to keep it, rebuilt from the outside: arrivals at
 * the back; each step admits from the front, in order; a preempted sequence goes back to the
 * front (plan.preempted lists the newest first, so the oldest ends up first). Whatever the
 * scheduler does otherwise, `step` throws: a later request overtaking an earlier one, or a
 * preempted one, is how a request could starve.
 */
export class QueueModel {
  private readonly queue: string[] = [];

  arrive(id: string): void {
    this.queue.push(id);
  }

  step(plan: StepPlan): void {
    const front = this.queue.slice(0, plan.admitted.length);
    if (front.join() !== plan.admitted.join()) throw new Error(`admitted [${plan.admitted}] but the queue starts [${front}]`);
    this.queue.splice(0, plan.admitted.length);
    for (const id of plan.preempted) this.queue.unshift(id);
  }

  get ids(): readonly string[] {
    return this.queue;
  }
}
