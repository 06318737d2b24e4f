import { Scheduler, type SchedulerOptions } from '../Scheduler.ts';
import type { SampledToken, StepPlan } from '../StepPlan.ts';
import { FakePagedModel } from './FakePagedModel.ts';
import { type DriveHooks, stepOnce } from './drive.ts';

/** A small seeded PRNG (mulberry32), so that "random" test workloads are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` token ids in [1, 999], reproducible from `seed`. */
export function promptOf(length: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length }, () => 1 + Math.floor(r() * 999));
}

export interface Job {
  id: string;
  prompt: number[];
  maxTokens: number;
  /** Step at which the request arrives; 0 by default. */
  at?: number;
  /**
   * Streams (n > 1): after its first sampled token the job forks, as the engine does, into
   * children `${id}#1`.. whose first token is `childToken(first, k)` (the parent's by default,
   * as at temperature 0); each child's output is then its first token and the greedy rest.
   */
  n?: number;
  childToken?: (first: number, k: number) => number;
}

export interface RunResult {
  outputs: Map<string, number[]>;
  plans: StepPlan[];
  scheduler: Scheduler<null>;
}

/** Serves `jobs` (arriving at their steps) to completion on the fake model; returns every output. */
export function runJobs(jobs: readonly Job[], opts: Omit<SchedulerOptions, 'modelFingerprint'>, hooks: DriveHooks = {}): RunResult {
  const scheduler = new Scheduler<null>({ modelFingerprint: 'fake-model', ...opts });
  const model = new FakePagedModel(opts.numBlocks, scheduler.blockSize);
  const seqs = new Map<string, { tokens: readonly number[]; promptLength: number }>();
  const plans: StepPlan[] = [];
  const arrive = (step: number) => {
    for (const j of jobs) {
      if ((j.at ?? 0) === step) seqs.set(j.id, scheduler.add({ id: j.id, prompt: j.prompt, maxTokens: j.maxTokens, params: null }));
    }
  };
  const last = Math.max(0, ...jobs.map((j) => j.at ?? 0));
  const maxSteps = hooks.maxSteps ?? 100_000;
  const afterStep = (plan: StepPlan, s: number) => {
    plans.push(plan);
    hooks.afterStep?.(plan, s);
  };
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const forked = new Set<string>();
  const beforeAppend = (plan: StepPlan, results: SampledToken[], s: number) => {
    const out = [...results];
    for (const r of results) {
      const j = byId.get(r.seqId);
      if (!j || (j.n ?? 1) === 1 || forked.has(j.id)) continue;
      forked.add(j.id);
      const children = scheduler.fork(j.id, j.n!, Array.from({ length: j.n! - 1 }, (_, k) => `${j.id}#${k + 1}`));
      children.forEach((c, k) => {
        seqs.set(c.id, c);
        out.push({ seqId: c.id, token: j.childToken?.(r.token, k + 1) ?? r.token });
      });
    }
    return hooks.beforeAppend ? hooks.beforeAppend(plan, out, s) : out;
  };
  for (let step = 0; step <= last || scheduler.hasWork; step++) {
    if (step >= maxSteps) throw new Error(`still working after ${maxSteps} steps`);
    arrive(step);
    if (!scheduler.hasWork) continue;
    const plan = stepOnce(scheduler, model, { ...hooks, afterStep, beforeAppend }, step);
    if (plan.chunks.length === 0) throw new Error(`step ${step} scheduled nothing while work waits`);
  }
  const outputs = new Map<string, number[]>();
  for (const [id, s] of seqs) outputs.set(id, s.tokens.slice(s.promptLength));
  return { outputs, plans, scheduler };
}
