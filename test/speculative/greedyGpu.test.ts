import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { expectSameIds, mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (WebGPU through Dawn, stories260K)', () => {
  it('50 prompts (n = 3, stop strings, an abort mixed in) give the same output ids with n-gram and with draft-model speculation as without', async () => {
    // The draft model on a GpuBackend of its own (its own device on the same adapter), loaded by
    // loadEngine: stories260K itself in f32. Not q4_0 or f16 as on the CPU: on SwiftShader a
    // quantized format's pipelines take 25-50 s to compile on first use; rejected drafts on
    // WebGPU are the n-gram arm's, and the draft cache's rollback is backend-independent (CPU test).
    // One engine for all three arms (its pipelines compiled once), the 50 requests of an arm in
    // flight together (batched steps), and short outputs: what costs time on SwiftShader is steps.
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kernels: 'fallback', maxBatchTokens: 512, speculative: { draftModel: DEFAULT_MODEL } });
    try {
      // Five with n = 3, five with a stop string, two aborted (mixedCases' pattern).
      const cases = mixedCases(50, 100);
      const plain = await runCases(engine, cases, 12);
      expect(plain.ids.size).toBe(58);
      for (const speculative of [{ method: 'ngram', k: 4 }, { method: 'draft', k: 4 }] as const) {
        const counts = expectSameIds(plain, await runCases(engine, cases, 12, speculative), speculative.method);
        expect(counts.drafted, speculative.method).toBeGreaterThan(0);
        // The same weights on the same kernels: the draft is (nearly always) the target's own choice.
        if (speculative.method === 'draft') expect(counts.accepted).toBeGreaterThanOrEqual(counts.drafted * 0.9);
        // Short story outputs rarely repeat: n-gram drafts are mostly rejected, so rollback runs on WebGPU too.
        else expect(counts.accepted).toBeLessThan(counts.drafted);
        console.log(`${speculative.method} on stories260K (webgpu): ${counts.accepted}/${counts.drafted} drafted tokens accepted, ${counts.completion} tokens in ${counts.targetForwards} target forwards`);
      }
      expect(engine.stats().kv.blocksUsed).toBe(0);
    } finally {
      engine.speculation.dispose();
      engine.backend.dispose();
    }
  }, 120_000);
});
