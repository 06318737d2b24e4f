import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { expectSameIds, mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (CPU backend, stories260K)', () => {
  it('50 prompts (n = 3, stop strings, an abort mixed in) give the same output ids with n-gram and with draft-model speculation as without, and free every block', async () => {
    // The draft model: stories260K quantized to q4_0 on load, a self-drafter that is sometimes wrong (rollbacks).
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu', maxBatchTokens: 512, speculative: { draftModel: DEFAULT_MODEL, draftWeights: 'q4_0' } });
    const cases = mixedCases(50);
    const plain = await runCases(engine, cases, 20);
    expect(plain.ids.size).toBeGreaterThan(55);
    expect(plain.usage.every((u) => u === null || u.speculative === undefined)).toBe(true);
    for (const speculative of [{ method: 'ngram', k: 5 }, { method: 'draft', k: 4 }] as const) {
      const before = { ...engine.stats().speculative };
      const c = expectSameIds(plain, await runCases(engine, cases, 20, speculative), speculative.method);
      // Speculation did happen and saved forwards: more tokens than target forwards.
      expect(c.accepted, speculative.method).toBeGreaterThan(0);
      expect(c.targetForwards, speculative.method).toBeLessThan(c.completion);
      // A self-drafter is right most of the time, and wrong sometimes (rollbacks exercised).
      if (speculative.method === 'draft') {
        expect(c.accepted).toBeGreaterThan(c.drafted / 2);
        expect(c.accepted).toBeLessThan(c.drafted);
      }
      // The engine's totals: these requests' counts, plus the aborted one's.
      const after = engine.stats().speculative;
      expect(after.accepted_tokens - before.accepted_tokens).toBeGreaterThanOrEqual(c.accepted);
      expect(after.drafted_tokens - before.drafted_tokens).toBeGreaterThanOrEqual(c.drafted);
      expect(after.target_forwards - before.target_forwards).toBeGreaterThanOrEqual(c.targetForwards);
      expect(engine.stats().kv.blocksUsed).toBe(0);
      console.log(`${speculative.method} on stories260K: ${c.accepted}/${c.drafted} drafted tokens accepted, ${c.completion} tokens in ${c.targetForwards} target forwards`);
    }
    engine.speculation.dispose();
  }, 60_000);
});
