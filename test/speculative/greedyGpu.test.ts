import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { mixedCases, runCases } from './greedyRun.ts';

describe('speculative decoding, greedy (WebGPU through Dawn, stories260K)', () => {
  it('a mix of prompts (n = 3, a stop string, an abort) gives the same output ids with n-gram speculation as without', async () => {
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kernels: 'fallback' });
    try {
      // One plain prompt, one with n = 3, one with a stop string, one aborted (mixedCases' pattern).
      const cases = mixedCases(8, 100).filter((_, i) => [0, 3, 5, 7].includes(i));
      const plain = await runCases(engine, cases, 20);
      const spec = await runCases(engine, cases, 20, { method: 'ngram', k: 4 });
      expect(plain.ids.size).toBe(5);
      expect(spec.ids.size).toBe(plain.ids.size);
      for (const [key, ids] of plain.ids) expect(spec.ids.get(key), key).toEqual(ids);
      const drafted = spec.usage.reduce((a, u) => a + (u?.speculative?.drafted_tokens ?? 0), 0);
      expect(drafted).toBeGreaterThan(0);
      expect(engine.stats().kv.blocksUsed).toBe(0);
    } finally {
      engine.backend.dispose();
    }
  }, 120_000);
});
