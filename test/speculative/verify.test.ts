import { describe, expect, it } from 'vitest';
import { KvCache } from '../../src/kv/KvCache.ts';
import { Rng } from '../../src/sampling/Rng.ts';
import { type DrawParams, sampleWithU } from '../../src/sampling/sample.ts';
import { nextK } from '../../src/speculative/adaptiveK.ts';
import { lookup } from '../../src/speculative/NgramDrafter.ts';
import { parseSpeculative, speculationOf } from '../../src/speculative/speculativeParams.ts';
import { drawFrom, targetDistribution, verifyDraft } from '../../src/speculative/verify.ts';
import { chiSquarePValue } from '../../src/speculative/chiSquare.ts';
import { refusedParam } from './refusedParam.ts';

function logitsOf(seed: number, vocab: number, scale = 3): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: vocab }, () => (rng.next() - 0.5) * 2 * scale);
}

describe('n-gram prompt lookup', () => {
  it('proposes what followed the most recent match of the longest suffix n-gram (3, then 2, then 1)', () => {
    // Suffix [7, 8, 9] occurs at 1 and 6; the most recent (6) is followed by 4, 4, ...
    expect(lookup([1, 7, 8, 9, 2, 3, 7, 8, 9, 4, 4, 5, 7, 8, 9], 3)).toEqual([4, 4, 5]);
    // No trigram or bigram match: the unigram 9's last earlier occurrence.
    expect(lookup([9, 1, 2, 9, 3, 5, 9], 2)).toEqual([3, 5]);
    // A match near the end runs on into the draft: the period repeats (here 2, then 1, then 3).
    expect(lookup([5, 6, 5, 6], 4)).toEqual([5, 6, 5, 6]);
    expect(lookup([3, 4, 4, 4], 5)).toEqual([4, 4, 4, 4, 4]);
    expect(lookup([1, 2, 3, 1, 2, 3], 7)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    // A match far enough back copies the context alone.
    expect(lookup([1, 2, 3, 4, 5, 9, 1, 2], 3)).toEqual([3, 4, 5]);
    expect(lookup([1, 2, 3], 4)).toEqual([]);
    expect(lookup([1], 4)).toEqual([]);
    expect(lookup([1, 1, 1], 0)).toEqual([]);
  });
});

describe('adaptive k', () => {
  it('grows after a fully accepted draft up to the request k, shrinks after a rejection, never below 1', () => {
    expect(nextK(4, 4, 4, 6)).toBe(5);
    expect(nextK(6, 6, 6, 6)).toBe(6);
    expect(nextK(4, 4, 0, 6)).toBe(1);
    expect(nextK(5, 5, 3, 6)).toBe(4);
    expect(nextK(5, 2, 2, 6)).toBe(5); // trimmed by the budget: accepted all it drafted, k unchanged
    expect(nextK(3, 0, 0, 6)).toBe(3);
  });
});

describe('speculative parameters', () => {
  const limits = { default: null, draftModel: null };
  const none = { grammar: false, penalties: false, logitBias: false, logprobs: false, repetitionPenalty: false, kvLimit: false };
  it('reads method and k, refusing bad values by name', () => {
    expect(parseSpeculative({ method: 'ngram' }, null)).toEqual({ method: 'ngram', k: 4 });
    expect(parseSpeculative({ method: 'draft', k: 7, draft_model: 'tiny' }, 'tiny')).toEqual({ method: 'draft', k: 7 });
    expect(refusedParam(() => parseSpeculative('ngram', null))).toBe('speculative');
    expect(refusedParam(() => parseSpeculative({ method: 'eagle' }, null))).toBe('speculative.method');
    expect(refusedParam(() => parseSpeculative({ method: 'ngram', k: 0 }, null))).toBe('speculative.k');
    expect(refusedParam(() => parseSpeculative({ method: 'ngram', k: 2.5 }, null))).toBe('speculative.k');
    expect(refusedParam(() => parseSpeculative({ method: 'ngram', depth: 2 }, null))).toBe('speculative.depth');
    expect(refusedParam(() => parseSpeculative({ method: 'draft' }, null))).toBe('speculative.method');
    expect(refusedParam(() => parseSpeculative({ method: 'draft', draft_model: 'other' }, 'tiny'))).toBe('speculative.draft_model');
    expect(refusedParam(() => parseSpeculative({ method: 'ngram', draft_model: 'tiny' }, 'tiny'))).toBe('speculative.draft_model');
    expect(refusedParam(() => speculationOf({ method: 'ngram' }, limits, { ...none, grammar: true }))).toBe('speculative');
  });
  it('the engine default applies unless the request opts out or asks what speculation does not support', () => {
    const def = { default: { method: 'ngram' as const, k: 3 }, draftModel: null };
    expect(speculationOf(undefined, def, none)).toEqual({ method: 'ngram', k: 3 });
    expect(speculationOf(false, def, none)).toBeNull();
    expect(speculationOf(undefined, def, { ...none, logprobs: true })).toBeNull();
    expect(speculationOf({ method: 'ngram', k: 2 }, def, none)).toEqual({ method: 'ngram', k: 2 });
  });
});

describe('verification', () => {
  const vocab = 12;
  it('greedy: drafts stand while they equal the argmax; the first mismatch is replaced by it', () => {
    const rows = [0, 1, 2, 3].map((i) => logitsOf(10 + i, vocab));
    const best = rows.map((r) => r.indexOf(Math.max(...r)));
    const greedy: DrawParams = { temperature: 0, topK: 0, topP: 1 };
    const never = () => {
      throw new Error('greedy verification draws nothing');
    };
    expect(verifyDraft((i) => rows[i], best.slice(0, 3), null, greedy, never)).toEqual({ accepted: 3, token: best[3] });
    const wrong = (best[1] + 1) % vocab;
    expect(verifyDraft((i) => rows[i], [best[0], wrong, best[2]], null, greedy, never)).toEqual({ accepted: 1, token: best[1] });
    expect(verifyDraft((i) => rows[i], [], null, greedy, never)).toEqual({ accepted: 0, token: best[0] });
  });

  it('targetDistribution is the distribution sampleWithU draws from (same kept set, same order)', () => {
    for (let seed = 0; seed < 30; seed++) {
      const row = logitsOf(seed, 40, 4);
      const p: DrawParams = { temperature: 0.3 + (seed % 5) * 0.4, topK: seed % 3 === 0 ? 0 : 1 + (seed % 7), topP: seed % 2 ? 1 : 0.7 };
      const dist = targetDistribution(row, p);
      expect(dist.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (let j = 0; j < 50; j++) {
        const u = (j + 0.37) / 50;
        expect(drawFrom(dist, u)).toBe(sampleWithU(row, p, u));
      }
    }
  });

  /**
   * The speculative sampling rule keeps the target's distribution: the first token emitted after
   * verifying a one-token draft is distributed as p, for a good drafter, a poor one (drafting
   * tokens the target never picks) and a sampling drafter whose q differs from p.
   */
  it('sampled: the first emitted token follows the target distribution whatever the drafter (chi-square over 20,000 seeded draws each)', () => {
    const row = logitsOf(99, vocab, 2);
    const next = logitsOf(100, vocab, 2);
    const params: DrawParams = { temperature: 0.9, topK: 8, topP: 0.95 };
    const p = targetDistribution(row, params);
    const argmaxP = p.indexOf(Math.max(...p));
    const impossible = p.indexOf(0);
    expect(impossible).toBeGreaterThanOrEqual(0); // top-k leaves some tokens out
    const skewed = Float32Array.from({ length: vocab }, (_, i) => (i % 3 === 0 ? 3 : 1));
    const qSum = skewed.reduce((a, b) => a + b, 0);
    for (let i = 0; i < vocab; i++) skewed[i] /= qSum;
    const drafters: Record<string, (r: Rng) => { d: number; q: Float32Array | null }> = {
      good: () => ({ d: argmaxP, q: null }),
      poor: () => ({ d: impossible, q: null }),
      sampling: (r) => ({ d: drawFrom(Float64Array.from(skewed), r.next()), q: skewed }),
    };
    const draws = 20_000;
    for (const [name, drafter] of Object.entries(drafters)) {
      const rng = new Rng(7);
      const draftRng = new Rng(8);
      const counts = new Array<number>(vocab).fill(0);
      let accepted = 0;
      for (let t = 0; t < draws; t++) {
        const { d, q } = drafter(draftRng);
        const v = verifyDraft((i) => (i === 0 ? row : next), [d], q ? [q] : null, params, () => rng.next());
        counts[v.accepted === 1 ? d : v.token]++;
        accepted += v.accepted;
      }
      const pValue = chiSquarePValue(counts, p);
      expect(pValue, `${name}: counts ${counts} vs p ${Array.from(p, (x) => (x * draws).toFixed(0))}`).toBeGreaterThan(0.01);
      if (name === 'good') expect(accepted / draws).toBeCloseTo(p[argmaxP], 1);
      if (name === 'poor') expect(accepted).toBe(0);
    }
    // The helper itself (scipy's chi2.sf): 4 on 1 degree of freedom is 0.0455, 13.5 on 7 is 0.0608.
    expect(chiSquarePValue([60, 40], [0.5, 0.5])).toBeCloseTo(0.0455, 3);
    expect(chiSquarePValue([130, 85, 100, 100, 100, 100, 100, 85], Array(8).fill(1 / 8))).toBeCloseTo(0.0608, 3);
    // A rule that ignored the draft's rejection would fail: the poor drafter's token always out.
    const biased = new Array<number>(vocab).fill(0);
    biased[argmaxP] = draws;
    expect(chiSquarePValue(biased, p)).toBeLessThan(0.01);
  });
});

describe('rollback (BlockTable.truncate)', () => {
  it('releases the blocks past the kept entries, keeps a partly filled one unhashed, and never cuts a hashed block', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: 4, modelFingerprint: 'fp' });
    const table = kv.createTable('s');
    const chain = kv.prefix.newChain();
    const tokens = [1, 2, 3, 4, 5, 6];
    table.append(6, kv.pool);
    kv.prefix.commit(table, chain, tokens); // block 0 hashed
    table.append(7, kv.pool); // 13 entries over 4 blocks: drafts
    expect(table.blocks.length).toBe(4);
    const used = kv.pool.numUsed;
    table.truncate(9, kv.pool); // 3 drafts accepted
    expect(table.numTokens).toBe(9);
    expect(table.blocks.length).toBe(3);
    expect(kv.pool.numUsed).toBe(used - 1);
    kv.prefix.commit(table, chain, [...tokens, 7, 8, 9]);
    expect(kv.pool.hashOf(table.blocks[1])).toBeDefined();
    expect(kv.pool.hashOf(table.blocks[2])).toBeUndefined(); // partly filled: never hashed
    expect(() => table.truncate(7, kv.pool)).toThrow(RangeError); // would cut hashed block 1
    expect(() => table.truncate(10, kv.pool)).toThrow(RangeError); // past the end
    kv.dropTable(table);
    expect(kv.pool.numUsed).toBe(0);
  });
});
