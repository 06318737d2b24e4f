import type { Scheduler } from '../Scheduler.ts';
import type { SampledToken, StepPlan } from '../StepPlan.ts';
import { checkPlan } from './checkPlan.ts';
import type { FakePagedModel } from './FakePagedModel.ts';

export interface DriveHooks {
  /** Token that finishes a sequence with reason 'stop'. */
  eos?: number;
  /** Between the forward and appendTokens(): may fork, abort, or add tokens for children. */
  beforeAppend?: (plan: StepPlan, results: SampledToken[], step: number) => SampledToken[];
  /** Before schedule(): may set drafts (Sequence.draft) for speculative decoding. */
  beforeSchedule?: (step: number, scheduler: Scheduler<unknown>) => void;
  /** After each step. */
  afterStep?: (plan: StepPlan, step: number) => void;
  maxSteps?: number;
}

/** One engine step on the fake model: schedule, copies + forward, sample, append, stop on EOS. */
export function stepOnce<P>(scheduler: Scheduler<P>, model: FakePagedModel, hooks: DriveHooks, step: number): StepPlan {
  hooks.beforeSchedule?.(step, scheduler);
  const plan = scheduler.schedule();
  checkPlan(scheduler, plan);
  if (plan.chunks.length === 0 && scheduler.numRunning > 0) throw new Error(`step ${step} scheduled nothing: deadlock`);
  let results = model.step(plan);
  if (hooks.beforeAppend) results = hooks.beforeAppend(plan, results, step);
  scheduler.appendTokens(results);
  if (hooks.eos !== undefined) {
    for (const r of results) if (r.token === hooks.eos && scheduler.get(r.seqId)) scheduler.finish(r.seqId, 'stop');
  }
  hooks.afterStep?.(plan, step);
  return plan;
}

/** A minimal engine loop for tests: steps until no work is left. Returns the number of steps. */
export function drive<P>(scheduler: Scheduler<P>, model: FakePagedModel, hooks: DriveHooks = {}): number {
  const maxSteps = hooks.maxSteps ?? 100_000;
  let step = 0;
  while (scheduler.hasWork) {
    if (step >= maxSteps) throw new Error(`still working after ${maxSteps} steps`);
    const plan = stepOnce(scheduler, model, hooks, step);
    if (plan.chunks.length === 0 && scheduler.hasWork) throw new Error(`step ${step} scheduled nothing while work waits`);
    step++;
  }
  return step;
}
