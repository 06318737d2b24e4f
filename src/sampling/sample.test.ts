import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../errors.ts';
import { Rng } from './Rng.ts';
import { logSoftmax, sample, topLogprobs } from './sample.ts';
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
