import { describe, expect, it } from 'vitest';
import { type LogitBias, parseLogitBias } from '../../src/sampling/logitBias.ts';
import { applyAdjustments, logitAdjustments, MASKED_LOGIT, rowMask } from '../../src/sampling/logitAdjustments.ts';
import { hasPenalties, NO_PENALTIES, type Penalties, penalties } from '../../src/sampling/penalties.ts';

/** A row with `bias` applied as the engine applies it (a ban through the row's mask). */
function applyLogitBias(logits: Float32Array, bias: LogitBias | null): Float32Array {
  const a = logitAdjustments([], NO_PENALTIES, bias);
  return applyAdjustments(logits, a, rowMask(logits.length, null, a?.banned ?? []));
}

const applyPenalties = (logits: Float32Array, generated: number[], p: Penalties) => applyAdjustments(logits, logitAdjustments(generated, p, null), null);
import { Rng } from '../../src/sampling/Rng.ts';
import { argmax } from '../../src/sampling/argmax.ts';
import { sample } from '../../src/sampling/sample.ts';
import { GREEDY, samplingParams } from '../../src/sampling/SamplingParams.ts';

const row = (seed: number, n = 32) => {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next() * 8 - 4);
};

describe('applyLogitBias', () => {
  it('adds each bias to its token, leaves the others and the input row alone', () => {
    const logits = row(1);
    const before = logits.slice();
    const out = applyLogitBias(logits, parseLogitBias({ '3': 1.5, '10': -2 }));
    expect(logits).toEqual(before);
    for (let i = 0; i < logits.length; i++) expect(out[i]).toBe(Math.fround(logits[i] + (i === 3 ? 1.5 : i === 10 ? -2 : 0)));
    expect(applyLogitBias(logits, null)).toBe(logits);
  });

  it('-100 bans the most likely token however far ahead it is; +100 makes a token the greedy choice', () => {
    const logits = row(2);
    const top = argmax(logits);
    logits[top] = 1000; // far beyond what a finite -100 could undo
    const banned = applyLogitBias(logits, parseLogitBias({ [top]: -100 }));
    expect(banned[top]).toBe(MASKED_LOGIT);
    expect(argmax(banned)).not.toBe(top);
    for (let seed = 0; seed < 50; seed++) expect(sample(banned, samplingParams({ temperature: 1.5, seed }), new Rng(seed))).not.toBe(top);
    const low = argmax(logits.map((v) => -v));
    expect(sample(applyLogitBias(row(2), parseLogitBias({ [low]: 100 })), GREEDY, new Rng(0))).toBe(low);
  });
});

describe('applyPenalties: OpenAI logit -= count * frequency + (count > 0) * presence', () => {
  it('matches the definition token by token on random rows and outputs', () => {
    for (let seed = 0; seed < 20; seed++) {
      const logits = row(seed);
      const rng = new Rng(seed + 100);
      const generated = Array.from({ length: 40 }, () => Math.floor(rng.next() * 12));
      const p = penalties(rng.next() * 4 - 2, rng.next() * 4 - 2);
      const out = applyPenalties(logits, generated, p);
      for (let j = 0; j < logits.length; j++) {
        const count = generated.filter((t) => t === j).length;
        expect(out[j]).toBeCloseTo(logits[j] - count * p.frequency - (count > 0 ? p.presence : 0), 5);
      }
    }
  });

  it('is the row itself with no penalty or no output yet', () => {
    const logits = row(3);
    expect(applyPenalties(logits, [1, 2, 2], penalties(0, 0))).toBe(logits);
    expect(applyPenalties(logits, [], penalties(1, 1))).toBe(logits);
    expect(hasPenalties(penalties(0, 0.1))).toBe(true);
    expect(hasPenalties(penalties(undefined, undefined))).toBe(false);
  });

  it('a large frequency penalty moves greedy off a token it keeps repeating', () => {
    const logits = row(4);
    const top = argmax(logits);
    expect(argmax(applyPenalties(logits, [top, top, top], penalties(2, 0)))).not.toBe(top);
    expect(argmax(applyPenalties(logits, [top], penalties(0, 0)))).toBe(top);
  });
});
