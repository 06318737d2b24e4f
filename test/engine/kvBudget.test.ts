import { describe, expect, it } from 'vitest';
import { ContextLengthError, InvalidParamsError } from '../../src/errors.ts';
import { cpuEngine } from './engineHarness.ts';

const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside.';
/** Bans end-of-sequence (id 2) so that a run goes the whole length. */
const noEos = { logit_bias: { '2': -100 } };

describe('KV budget and context shift through the API (CPU engine, stories260K, 512-token context)', () => {
  it('generates 700 tokens past the context in a 128-token budget, never holding more than budget + one block, and reports evicted tokens', async () => {
    const { engine, api } = await cpuEngine({ maxBlocks: 64 });
    const stream = await api.completions.create({
      prompt, max_tokens: 700, temperature: 0, kv_budget_tokens: 128, kv_policy: 'paged-eviction', context_overflow: 'shift', ...noEos,
      stream: true, stream_options: { include_usage: true },
    });
    let peak = 0;
    let steps = 0;
    let usage: { completion_tokens: number; evicted_tokens?: number } | null | undefined;
    for await (const chunk of stream) {
      peak = Math.max(peak, engine.stats().kv.blocksUsed);
      steps++;
      usage = chunk.usage ?? usage;
    }
    expect(steps).toBeGreaterThan(100);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(128 / 16 + 1);
    expect(usage?.completion_tokens).toBe(700);
    // Prompt + 699 fed back, less at most 144 held at the end.
    expect(usage?.evicted_tokens).toBeGreaterThanOrEqual(700 - 144);
    await engine.idle();
    expect(engine.stats().kv.blocksUsed).toBe(0);
  }, 60_000);

  it('refuses by name what it cannot run, and stays usable', async () => {
    const { api } = await cpuEngine();
    await expect(api.completions.create({ prompt, max_tokens: 600 })).rejects.toThrow(ContextLengthError);
    await expect(api.completions.create({ prompt, max_tokens: 600, kv_budget_tokens: 128 })).rejects.toThrow(ContextLengthError);
    await expect(api.completions.create({ prompt, max_tokens: 8, kv_policy: 'window' })).rejects.toThrow(/kv_policy.*needs kv_budget_tokens/);
    await expect(api.completions.create({ prompt, max_tokens: 8, kv_budget_tokens: 40 })).rejects.toThrow(InvalidParamsError);
    await expect(api.completions.create({ prompt, max_tokens: 8, kv_budget_tokens: 128, kv_policy: 'none' })).rejects.toThrow(InvalidParamsError);
    await expect(api.completions.create({ prompt, max_tokens: 8, kv_policy: 'lru' as 'window' })).rejects.toThrow(/kv_policy/);
    await expect(api.completions.create({ prompt, max_tokens: 8, context_overflow: 'wrap' as 'shift' })).rejects.toThrow(/context_overflow/);
    const ok = await api.completions.create({ prompt, max_tokens: 8, temperature: 0 });
    expect(ok.usage.completion_tokens).toBe(8);
    expect(ok.usage.evicted_tokens).toBeUndefined();
  }, 30_000);

  it('takes an engine-wide default that a request may override; a bad default fails the load', async () => {
    const { api } = await cpuEngine({ budgetTokens: 64, policy: 'window', overflow: 'shift' });
    const a = await api.completions.create({ prompt, max_tokens: 120, temperature: 0, ...noEos });
    expect(a.usage.evicted_tokens).toBeGreaterThan(0);
    const b = await api.completions.create({ prompt, max_tokens: 120, temperature: 0, kv_budget_tokens: 256, ...noEos });
    expect(b.usage.evicted_tokens).toBe(0);
    await expect(cpuEngine({ budgetTokens: 64, policy: 'none' })).rejects.toThrow(InvalidParamsError);
  }, 30_000);
});
