import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/Engine.ts';
import type { Request } from '../../src/engine/Request.ts';
import type { Sequence } from '../../src/scheduler/Sequence.ts';
import type { Drafter } from '../../src/speculative/Drafter.ts';
import type { SpeculativeParam } from '../../src/speculative/speculativeParams.ts';
import { cpuEngine } from '../engine/engineHarness.ts';
import { homogeneityPValue } from '../../src/speculative/chiSquare.ts';

/** Always drafts token 5, which the target rarely picks: nearly every draft is rejected, so the residual draw is exercised. */
const poor: Drafter = {
  method: 'ngram',
  propose: (reqs) => Promise.resolve(reqs.map((r) => ({ tokens: Array<number>(r.k).fill(5), probs: null }))),
  release: () => {},
};

/** Drafts from q = uniform over the target's top tokens' neighbourhood (a sampling drafter, as a draft model at a temperature is). */
const sampling = (vocab: number, support: number): Drafter => ({
  method: 'draft',
  propose: (reqs) =>
    Promise.resolve(
      reqs.map((r) => {
        const tokens = Array.from({ length: r.k }, () => Math.floor(r.sampling!.next() * support));
        const q = new Float32Array(vocab);
        q.fill(1 / support, 0, support);
        return { tokens, probs: tokens.map(() => q) };
      }),
    ),
  release: () => {},
});

describe('speculative decoding, sampled (CPU backend, stories260K)', () => {
  it('the first speculated token (with the one before it) keeps plain sampling\'s distribution, for a poor and a sampling drafter; seeded output is reproducible', async () => {
    const { engine: base } = await cpuEngine({}, 4096);
    const vocab = base.backend.config.vocabSize;
    const engine = new Engine(base.backend, base.tokenizer, { modelName: 'stories260K', fingerprint: base.fingerprint, maxBatchTokens: 4096, drafters: { ngram: poor, draft: sampling(vocab, 400), draftModel: 'q' } });
    const seqs: Sequence<Request>[] = [];
    const add = engine.scheduler.add.bind(engine.scheduler);
    engine.scheduler.add = (req) => {
      const s = add(req);
      seqs.push(s);
      return s;
    };
    // 250 draws an arm here (the bench's speculative section draws 20,000 an arm, with the real drafters).
    const draws = 250;
    // Top-k 4 keeps the pair (first token, second token) to at most 16 values; speculation starts at the second.
    // Seeds disjoint between arms (`first`): the same seeds would share the first token and bias p upwards.
    const outputs = async (speculative: SpeculativeParam | undefined, first: number, n = draws) => {
      seqs.length = 0;
      // Straight to the engine (no OpenAI-shaped responses): the draws are what costs here.
      const done = Array.from({ length: n }, (_, i) => first + i).map((seed) => new Promise<void>((resolve, reject) => {
        void engine.generate({ prompt: 'Once upon a time', max_tokens: 3, temperature: 1, top_k: 4, seed, ...(speculative ? { speculative } : {}) }, (events) => {
          for (const e of events) if (e.type === 'done') resolve(); else if (e.type === 'error') reject(e.error);
        });
      }));
      await Promise.all(done);
      return seqs.map((s) => [...s.outputTokens]);
    };
    const pairCounts = (outs: number[][]) => {
      const counts = new Array<number>(vocab * vocab).fill(0);
      for (const o of outs) counts[o[0] * vocab + (o[1] ?? 0)]++;
      return counts;
    };
    const plain = pairCounts(await outputs(undefined, 0));
    for (const [arm, speculative] of ([{ method: 'ngram', k: 1 }, { method: 'draft', k: 1 }] as const).entries()) {
      const before = { ...engine.stats().speculative };
      const first = (arm + 1) * draws;
      const spec = await outputs(speculative, first);
      const p = homogeneityPValue(plain, pairCounts(spec));
      expect(p, speculative.method).toBeGreaterThan(0.01);
      const after = engine.stats().speculative;
      expect(after.drafted_tokens - before.drafted_tokens).toBeGreaterThan(draws * 0.9);
      if (speculative.method === 'ngram') expect(after.accepted_tokens - before.accepted_tokens).toBeLessThan(draws * 0.05);
      else expect(after.accepted_tokens - before.accepted_tokens).toBeGreaterThan(draws * 0.002);
      // Seeded: the same requests again give the same tokens.
      expect(await outputs(speculative, first, 10)).toEqual(spec.slice(0, 10));
    }
    // The test can fail: a skewed sample is told apart from plain sampling.
    const skewed = pairCounts((await outputs(undefined, 3 * draws, 100)).map((o) => [o[0], o[0]]));
    expect(homogeneityPValue(plain, skewed)).toBeLessThan(0.01);
  }, 60_000);

  it('a drafter that proposes ids outside the vocabulary costs nothing but its drafts', async () => {
    const { engine: base, api: plainApi } = await cpuEngine();
    const vocab = base.backend.config.vocabSize;
    const broken: Drafter = { method: 'ngram', propose: (reqs) => Promise.resolve(reqs.map(() => ({ tokens: [vocab + 3, -1, 2], probs: null }))), release: () => {} };
    const engine = new Engine(base.backend, base.tokenizer, { modelName: 'stories260K', fingerprint: base.fingerprint, drafters: { ngram: broken } });
    const text = await new Promise<string>((resolve, reject) => {
      let out = '';
      void engine.generate({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0, speculative: { method: 'ngram' } }, (events) => {
        for (const e of events) {
          if (e.type === 'delta') out += e.text;
          else if (e.type === 'done') resolve(out);
          else if (e.type === 'error') reject(e.error);
        }
      });
    });
    expect(text).toBe((await plainApi.completions.create({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 })).choices[0].text);
    expect(engine.stats().speculative.drafted_tokens).toBe(0);
  });
});
