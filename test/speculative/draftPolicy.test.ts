import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/Engine.ts';
import type { StepPlan } from '../../src/scheduler/StepPlan.ts';
import { STALE_AFTER, TRUSTED_SAMPLES } from '../../src/speculative/stepCost.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/** Runs a request to its end on `engine`; `onToken` is told of each streamed piece. */
function run(engine: Engine, params: Record<string, unknown>, onToken = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    void engine.generate(params, (events) => {
      for (const e of events) {
        if (e.type === 'delta') onToken();
        else if (e.type === 'done') resolve();
        else if (e.type === 'error') reject(e.error);
      }
    });
  });
}

/** A looping prompt: stories260K's greedy continuation soon falls into loops that n-gram lookup drafts from. */
const LOOP = 'Tom saw the dog. Tom saw the dog. Tom saw the dog. Tom saw the dog. Tom saw the dog.';

describe('speculative draft policy (CPU backend, stories260K)', () => {
  it('drafts as long as the step cost table says pays, and nothing while a long prompt is prefilled in pieces', async () => {
    const { engine: base } = await cpuEngine({}, 512);
    // EOS ignored (as the bench does): stories run on into the loops that n-gram lookup drafts from.
    Object.defineProperty(base.tokenizer, 'eosIds', { value: [] });
    const plans: StepPlan[] = [];
    const engine = new Engine(base.backend, base.tokenizer, { modelName: 'stories260K', fingerprint: base.fingerprint, maxBatchTokens: 48, onStep: (s) => plans.push(s.plan) });
    // Steps of 3 rows and more cost seconds here (as if each row were a slow forward), and are
    // trusted: a greedy sequence alone drafts one token at a time, verified in steps of two rows.
    for (let rows = 3; rows <= 6; rows++) for (let i = 0; i < TRUSTED_SAMPLES; i++) engine.speculation.cost.observe('plain', rows, 1000 * rows);
    const speculative = { method: 'ngram', k: 4 };
    // 40 tokens: fewer steps than STALE_AFTER, after which the table would try 3 rows again.
    await run(engine, { prompt: LOOP, max_tokens: 40, temperature: 0, speculative });
    const verifying = () => plans.filter((p) => p.chunks.some((c) => c.verify));
    expect(verifying().length).toBeGreaterThan(5);
    for (const p of verifying()) expect(p.numTokens).toBe(2);
    expect(plans.length).toBeLessThan(STALE_AFTER - 8);
    // A long second prompt arrives while a first decodes (while its drafts match):
    // no draft is verified while its pieces are prefilled, after the first piece.
    plans.length = 0;
    let second: Promise<void> | null = null;
    let pieces = 0;
    await run(engine, { prompt: LOOP, max_tokens: 60, temperature: 0, speculative }, () => {
      if (++pieces === 8) second = run(engine, { prompt: `${LOOP} ${LOOP} ${LOOP} ${LOOP}`, max_tokens: 60, temperature: 0, speculative });
    });
    await second;
    const prefilling = plans.filter((p) => p.chunks.some((c) => c.tokens.length > 1 + (c.verify ?? 0)));
    expect(prefilling.length).toBeGreaterThanOrEqual(4);
    // The first decodes beside the pieces, plainly (without the rule it drafts there: checked by hand).
    for (const p of prefilling.slice(1)) expect(p.chunks.length).toBe(2);
    for (const p of prefilling.slice(2)) expect(p.chunks.every((c) => !c.verify)).toBe(true);
    expect(verifying().length).toBeGreaterThan(5);
    expect(engine.stats().kv.blocksUsed).toBe(0);
  });
});
