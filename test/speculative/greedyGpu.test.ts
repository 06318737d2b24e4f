import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { expectSameIds, mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (WebGPU through Dawn, stories260K)', () => {
  it('a mix of prompts (n = 3, a stop string, an abort) gives the same output ids with n-gram and with draft-model speculation as without', async () => {
    // The draft model (stories260K in q4_0, a self-drafter) on a GpuBackend of its own, loaded by loadEngine.
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kernels: 'fallback', speculative: { draftModel: DEFAULT_MODEL, draftWeights: 'q4_0' } });
    try {
      // One plain prompt, one with n = 3, one with a stop string, one aborted (mixedCases' pattern).
      const cases = mixedCases(8, 100).filter((_, i) => [0, 3, 5, 7].includes(i));
      const plain = await runCases(engine, cases, 16);
      expect(plain.ids.size).toBe(5);
      for (const speculative of [{ method: 'ngram', k: 4 }, { method: 'draft', k: 4 }] as const) {
        const counts = expectSameIds(plain, await runCases(engine, cases, 16, speculative), speculative.method);
        expect(counts.drafted, speculative.method).toBeGreaterThan(0);
        if (speculative.method === 'draft') expect(counts.accepted).toBeGreaterThan(counts.drafted / 2);
      }
      expect(engine.stats().kv.blocksUsed).toBe(0);
    } finally {
      engine.speculation.dispose();
      engine.backend.dispose();
    }
  }, 120_000);
});
