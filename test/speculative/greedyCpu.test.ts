import { describe, expect, it } from 'vitest';
import { cpuEngine } from '../engine/engineHarness.ts';
import { mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (CPU backend, stories260K)', () => {
  it('50 prompts (n = 3, stop strings, an abort mixed in) give the same output ids with n-gram speculation as without, and free every block', async () => {
    const { engine } = await cpuEngine({}, 512);
    const cases = mixedCases(50);
    const plain = await runCases(engine, cases, 32);
    const spec = await runCases(engine, cases, 32, { method: 'ngram', k: 5 });
    expect(spec.ids.size).toBe(plain.ids.size);
    expect(plain.ids.size).toBeGreaterThan(55);
    for (const [key, ids] of plain.ids) expect(spec.ids.get(key), key).toEqual(ids);
    const counts = spec.usage.flatMap((u) => (u?.speculative ? [u.speculative] : []));
    expect(counts.length).toBe(cases.filter((c) => c.abortAfter === undefined).length);
    const sum = (k: 'drafted_tokens' | 'accepted_tokens' | 'target_forwards') => counts.reduce((a, c) => a + c[k], 0);
    const completion = spec.usage.reduce((a, u) => a + (u?.completion_tokens ?? 0), 0);
    // Speculation did happen and saved forwards: more tokens than target forwards.
    expect(sum('accepted_tokens')).toBeGreaterThan(0);
    expect(sum('target_forwards')).toBeLessThan(completion);
    expect(plain.usage.every((u) => u === null || u.speculative === undefined)).toBe(true);
    const stats = engine.stats();
    // The engine's totals: these requests' counts, plus the aborted one's.
    expect(stats.speculative.accepted_tokens).toBeGreaterThanOrEqual(sum('accepted_tokens'));
    expect(stats.speculative.drafted_tokens).toBeGreaterThanOrEqual(sum('drafted_tokens'));
    expect(stats.speculative.target_forwards).toBeGreaterThanOrEqual(sum('target_forwards'));
    expect(stats.kv.blocksUsed).toBe(0);
    console.log(`ngram on stories260K: ${sum('accepted_tokens')}/${sum('drafted_tokens')} drafted tokens accepted, ${completion} tokens in ${sum('target_forwards')} target forwards`);
  }, 60_000);
});
