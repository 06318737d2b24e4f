import { expect } from 'vitest';
import type { Usage } from '../../src/api/openai.ts';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import type { Request } from '../../src/engine/Request.ts';
import type { Sequence } from '../../src/scheduler/Sequence.ts';
import type { SpeculativeParam } from '../../src/speculative/speculativeParams.ts';
import { AbortError } from '../../src/errors.ts';
import { storyPrompt } from '../engine/engineHarness.ts';

/** One request of the mix: n streams, a stop string, or aborted after a few chunks. */
export interface Case {
  prompt: string;
  n: number;
  stop?: string;
  abortAfter?: number;
}

/** `count` story prompts with n = 3, stop strings and an abort mixed in. */
export function mixedCases(count: number, seed = 0): Case[] {
  return Array.from({ length: count }, (_, i) => ({
    prompt: storyPrompt(seed + i, 4 + (i % 17)),
    n: i % 10 === 3 ? 3 : 1,
    ...(i % 10 === 5 ? { stop: '.' } : {}),
    ...(i % 25 === 7 ? { abortAfter: 3 } : {}),
  }));
}

export interface Outcome {
  /** Output ids per case and choice ("i/k"), aborted cases left out. */
  ids: Map<string, number[]>;
  usage: (Usage | null)[];
}

/**
 * Runs every case at once (greedy, `maxTokens`), with or without speculation, and collects each
 * choice's output ids straight from its scheduler sequences (text could hide a differing id).
 */
export async function runCases(engine: Engine, cases: readonly Case[], maxTokens: number, speculative?: SpeculativeParam): Promise<Outcome> {
  const api = new FolioEngine(engine);
  const scheduler = engine.scheduler;
  const seqs: Sequence<Request>[] = [];
  const add = scheduler.add.bind(scheduler);
  const fork = scheduler.fork.bind(scheduler);
  scheduler.add = (req) => {
    const s = add(req);
    seqs.push(s);
    return s;
  };
  scheduler.fork = (id, n, childIds) => {
    const children = fork(id, n, childIds);
    seqs.push(...children);
    return children;
  };
  const byPrompt = new Map<string, number>();
  try {
    const usage = await Promise.all(
      cases.map(async (c) => {
        const params = { prompt: c.prompt, n: c.n, max_tokens: maxTokens, temperature: 0, ...(c.stop ? { stop: c.stop } : {}), ...(speculative ? { speculative } : {}) };
        if (c.abortAfter === undefined) return (await api.completions.create(params)).usage;
        const controller = new AbortController();
        const stream = await api.completions.create({ ...params, stream: true }, { signal: controller.signal });
        let chunks = 0;
        try {
          for await (const _ of stream) if (++chunks >= c.abortAfter) controller.abort();
        } catch (e) {
          if (!(e instanceof AbortError)) throw e;
        }
        return null;
      }),
    );
    await engine.idle();
    cases.forEach((c, i) => byPrompt.set(c.prompt, i));
    const ids = new Map<string, number[]>();
    for (const s of seqs) {
      const i = byPrompt.get(engine.tokenizer.decode(s.promptTokens as number[], { skipSpecial: true }).trim());
      if (i === undefined) throw new Error(`a sequence of an unknown prompt: ${s.id}`);
      if (cases[i].abortAfter !== undefined) continue;
      ids.set(`${i}/${s.id.split('/')[1]}`, [...s.outputTokens]);
    }
    return { ids, usage };
  } finally {
    scheduler.add = add;
    scheduler.fork = fork;
  }
}

/** A run's speculative counts summed over its requests, and its completion tokens. */
export interface ArmCounts {
  drafted: number;
  accepted: number;
  targetForwards: number;
  completion: number;
}

/**
 * Asserts that `spec` (one speculative run of the cases) output exactly `plain`'s ids, choice by
 * choice, and that every request it finished reports its counts; returns them summed.
 */
export function expectSameIds(plain: Outcome, spec: Outcome, label: string): ArmCounts {
  expect(spec.ids.size, label).toBe(plain.ids.size);
  for (const [key, ids] of plain.ids) expect(spec.ids.get(key), `${label} ${key}`).toEqual(ids);
  const done = spec.usage.filter((u): u is Usage => u !== null);
  expect(done.every((u) => u.speculative !== undefined), label).toBe(true);
  const sum = (f: (u: Usage) => number) => done.reduce((a, u) => a + f(u), 0);
  return {
    drafted: sum((u) => u.speculative!.drafted_tokens),
    accepted: sum((u) => u.speculative!.accepted_tokens),
    targetForwards: sum((u) => u.speculative!.target_forwards),
    completion: sum((u) => u.completion_tokens),
  };
}
