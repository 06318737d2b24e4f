import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../errors.ts';
import { Rng } from './Rng.ts';
import { logSoftmax, sample, sampleWithU, topLogprobs } from './sample.ts';
import { GREEDY, samplingParams } from './SamplingParams.ts';

const logits = new Float32Array([1, 3, 2, 0.5, 2.9]);

describe('sampling', () => {
  it('greedy takes the argmax', () => {
    expect(sample(logits, GREEDY, new Rng(1))).toBe(1);
  });

  it('the same seed draws the same tokens; another seed differs somewhere', () => {
    const p = samplingParams({ temperature: 1.5 });
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sample(logits, p, rng));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('top-k 2 only ever draws the two best tokens', () => {
    const p = samplingParams({ temperature: 5, topK: 2 });
    const rng = new Rng(3);
    const seen = new Set(Array.from({ length: 500 }, () => sample(logits, p, rng)));
    expect([...seen].sort()).toEqual([1, 4]);
  });

  it('top-p keeps the smallest prefix whose mass reaches p', () => {
    // probabilities ~ [0.6, 0.3, 0.1]: p = 0.5 keeps only the first, p = 0.85 the first two
    const l = new Float32Array([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    const rng = new Rng(9);
    const draws = (topP: number) => new Set(Array.from({ length: 400 }, () => sample(l, samplingParams({ topP }), rng)));
    expect([...draws(0.5)]).toEqual([0]);
    expect([...draws(0.85)].sort()).toEqual([0, 1]);
  });

  it('draw frequencies follow the softmax at temperature 1', () => {
    const l = new Float32Array([Math.log(0.7), Math.log(0.2), Math.log(0.1)]);
    const rng = new Rng(11);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sample(l, samplingParams({}), rng)]++;
    expect(counts[0] / 20000).toBeCloseTo(0.7, 1);
    expect(counts[2] / 20000).toBeCloseTo(0.1, 1);
  });

  it('top-k and top-p together keep whichever set is smaller', () => {
    // probabilities ~ [0.5, 0.3, 0.15, 0.05]
    const l = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const kept = (topK: number, topP: number) => {
      const out = new Set<number>();
      for (let i = 0; i < 200; i++) out.add(sampleWithU(l, { temperature: 1, topK, topP }, (i + 0.5) / 200));
      return [...out].sort();
    };
    expect(kept(0, 1)).toEqual([0, 1, 2, 3]);
    expect(kept(3, 1)).toEqual([0, 1, 2]);
    expect(kept(3, 0.7)).toEqual([0, 1]); // top-p's set is smaller
    expect(kept(1, 0.9)).toEqual([0]); // top-k's set is smaller
    expect(kept(0, 0.96)).toEqual([0, 1, 2, 3]); // 0.95 falls short of 0.96
  });

  it('a tie at the threshold is kept whole', () => {
    const l = new Float32Array([0, 2, 1, 2]);
    const drawn = new Set(Array.from({ length: 100 }, (_, i) => sampleWithU(l, { temperature: 1, topK: 1, topP: 1 }, i / 100)));
    expect([...drawn].sort()).toEqual([1, 3]);
  });

  it('the draw is the inverse CDF of u over the kept set in index order', () => {
    // probabilities 0.2, 0.5, 0.3 (index order): u below 0.2 gives 0, below 0.7 gives 1, else 2
    const l = new Float32Array([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
    const p = { temperature: 1, topK: 0, topP: 1 };
    expect([0, 0.19, 0.21, 0.69, 0.71, 0.999999].map((u) => sampleWithU(l, p, u))).toEqual([0, 0, 1, 1, 2, 2]);
    // top-k 2 keeps tokens 1 and 2 (mass 0.8): token 1 up to u = 0.5 / 0.8
    const k2 = { ...p, topK: 2 };
    expect([0, 0.62, 0.63, 0.99].map((u) => sampleWithU(l, k2, u))).toEqual([1, 1, 2, 2]);
  });

  it('temperature sharpens and flattens: the share of the best token moves with it', () => {
    const l = new Float32Array([2, 1, 0]);
    const share = (temperature: number) => {
      let best = 0;
      for (let i = 0; i < 1000; i++) if (sampleWithU(l, { temperature, topK: 0, topP: 1 }, (i + 0.5) / 1000) === 0) best++;
      return best / 1000;
    };
    const softmax0 = (t: number) => 1 / (1 + Math.exp(-1 / t) + Math.exp(-2 / t));
    expect(share(0.25)).toBeCloseTo(softmax0(0.25), 2);
    expect(share(1)).toBeCloseTo(softmax0(1), 2);
    expect(share(4)).toBeCloseTo(softmax0(4), 2);
    expect(share(0.25)).toBeGreaterThan(share(1));
    expect(share(1)).toBeGreaterThan(share(4));
  });

  it('repetition penalty can move greedy off a seen token', () => {
    expect(sample(logits, { ...GREEDY, repetitionPenalty: 1.2 }, new Rng(1), [1])).toBe(4);
  });

  it('log-probabilities sum to one and are ranked', () => {
    const lp = logSoftmax(logits);
    expect(lp.reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 6);
    expect(topLogprobs(lp, 2).map((t) => t.id)).toEqual([1, 4]);
  });

  it('refuses bad parameters with a typed error', () => {
    expect(() => samplingParams({ temperature: -1 })).toThrow(InvalidParamsError);
    expect(() => samplingParams({ topP: 0 })).toThrow(/top_p/);
    expect(() => samplingParams({ topK: 1.5 })).toThrow(InvalidParamsError);
    expect(() => samplingParams({ temperature: NaN })).toThrow(InvalidParamsError);
  });
});
