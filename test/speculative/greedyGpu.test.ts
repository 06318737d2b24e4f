import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { expectSameIds, mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (WebGPU through Dawn, stories260K)', () => {
  it('a mix of prompts (n = 3, a stop string, an abort) gives the same output ids with n-gram and with draft-model speculation as without', async () => {
    // The draft model on a GpuBackend of its own (its own device on the same adapter), loaded by
    // loadEngine: stories260K itself in f32. Not q4_0 or f16 as on the CPU: on SwiftShader a
    // quantized format's pipelines take 25-50 s to compile on first use; rejected drafts on
    // WebGPU are the n-gram arm's, and the draft cache's rollback is backend-independent (CPU test).
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kernels: 'fallback', speculative: { draftModel: DEFAULT_MODEL } });
    try {
      // One plain prompt, one with n = 3, one with a stop string, one aborted (mixedCases' pattern).
      const cases = mixedCases(8, 100).filter((_, i) => [0, 3, 5, 7].includes(i));
      const plain = await runCases(engine, cases, 12);
      expect(plain.ids.size).toBe(5);
      for (const speculative of [{ method: 'ngram', k: 4 }, { method: 'draft', k: 4 }] as const) {
        const counts = expectSameIds(plain, await runCases(engine, cases, 12, speculative), speculative.method);
        expect(counts.drafted, speculative.method).toBeGreaterThan(0);
        // The same weights on the same kernels: the draft is (nearly always) the target's own choice.
        if (speculative.method === 'draft') expect(counts.accepted).toBeGreaterThanOrEqual(counts.drafted * 0.9);
      }
      expect(engine.stats().kv.blocksUsed).toBe(0);
    } finally {
      engine.speculation.dispose();
      engine.backend.dispose();
    }
  }, 120_000);
});
