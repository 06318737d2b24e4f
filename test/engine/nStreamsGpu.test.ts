import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { storyPrompt } from './engineHarness.ts';

/** Issue 10, item 3: the workload whose copy-on-write plans the GPU refused, failing whole steps. */
describe('n > 1 on a small KV pool (Dawn, stories260K)', () => {
  it('80 concurrent requests with n = 1 + i % 3 on 24 blocks all finish, each choice equal to its prompt alone', async () => {
    const load = (maxBlocks: number) => loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kv: { maxBlocks } });
    const prompts = Array.from({ length: 80 }, (_, i) => storyPrompt(i, 10));
    const roomy = await load(1024);
    let alone: string[];
    try {
      // Each prompt alone (batched with the others, which greedy decoding does not notice: test/engine/engine.test.ts).
      const api = new FolioEngine(roomy);
      alone = (await Promise.all(prompts.map((prompt) => api.completions.create({ prompt, max_tokens: 60, temperature: 0 })))).map((r) => r.choices[0].text);
    } finally {
      roomy.backend.dispose();
    }
    const engine = await load(24);
    try {
      const api = new FolioEngine(engine);
      const results = await Promise.allSettled(prompts.map((prompt, i) => api.completions.create({ prompt, n: 1 + (i % 3), max_tokens: 60, temperature: 0 })));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures).toEqual([]);
      results.forEach((r, i) => {
        const texts = r.status === 'fulfilled' ? r.value.choices.map((c) => c.text) : [];
        expect(texts).toEqual(Array.from({ length: 1 + (i % 3) }, () => alone[i]));
      });
      await engine.idle();
      const stats = engine.stats();
      expect(stats.requests.preemptions).toBeGreaterThan(0);
      expect(stats.kv.blocksUsed).toBe(0);
    } finally {
      engine.backend.dispose();
    }
  }, 300_000); // about a minute on two cores: 80 x 60 tokens through SwiftShader, twice
});
