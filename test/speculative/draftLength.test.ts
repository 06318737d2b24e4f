import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseDraftLength, expectedTokens } from '../../src/speculative/draftLength.ts';
import { STALE_AFTER, StepCost, TRUSTED_SAMPLES } from '../../src/speculative/stepCost.ts';

/** A cost function from a table of milliseconds by rows (index 0 unused). */
const table = (ms: number[]) => (rows: number) => ms[rows] ?? null;

describe('draft length by expected tokens per millisecond', () => {
  it('expected tokens: the accepted prefix plus the target token', () => {
    expect(expectedTokens(1, 4)).toBe(5);
    expect(expectedTokens(0, 4)).toBe(1);
    expect(expectedTokens(0.5, 2)).toBeCloseTo(1.75, 12);
  });

  it('drafts long where rows are cheap, short where each row costs a forward, and k when nothing is measured', () => {
    const base = { alpha: 0.9, maxLength: 4, rows: 1, tokens: 1 };
    expect(chooseDraftLength({ ...base, cost: () => 10 })).toBe(4);
    expect(chooseDraftLength({ ...base, cost: (r) => 10 * r })).toBe(1);
    // A CPU matmul compute-bound past two rows (as measured on SmolLM2's shape): two rows, k = 1.
    expect(chooseDraftLength({ ...base, cost: table([0, 24, 28, 44, 58, 72]) })).toBe(1);
    // One whose tile of four rows reads each weight once: four rows.
    expect(chooseDraftLength({ ...base, cost: table([0, 24, 26, 27, 28, 50]) })).toBe(3);
    // A drafter that is seldom right drafts one token even there.
    expect(chooseDraftLength({ ...base, alpha: 0.1, cost: table([0, 24, 26, 27, 28, 50]) })).toBe(1);
    expect(chooseDraftLength({ ...base, cost: table([0, 24, 28]) })).toBe(4);
    // In a batch of 8 decodes a sequence's drafts cost little of the step, and earn little of its tokens.
    expect(chooseDraftLength({ ...base, rows: 8, tokens: 8, cost: (r) => 40 + r })).toBe(4);
  });

  it('picks, within 1..maxLength, a length no other length beats', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(fc.double({ min: 0.1, max: 100, noNaN: true }), { minLength: 12, maxLength: 12 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }), (alpha, ms, maxLength, rows) => {
        const cost = (r: number) => ms[r - 1];
        const d = chooseDraftLength({ alpha, maxLength, rows, tokens: rows, cost });
        expect(d).toBeGreaterThanOrEqual(1);
        expect(d).toBeLessThanOrEqual(maxLength);
        const rate = (x: number) => (rows - 1 + expectedTokens(alpha, x)) / cost(rows + x);
        for (let x = 1; x <= maxLength; x++) expect(rate(d)).toBeGreaterThanOrEqual(rate(x) * (1 - 1e-12));
      }),
    );
  });
});

describe('step cost table', () => {
  it('knows nothing at first, then trusts a row count after enough samples, at the least of its recent ones', () => {
    const c = new StepCost();
    expect(c.estimate('plain', 1)).toBeNull();
    for (let i = 0; i < TRUSTED_SAMPLES; i++) c.observe('plain', 1, 30 - i);
    expect(c.estimate('plain', 1)).toBe(31 - TRUSTED_SAMPLES);
    // A burst of other load does not move it; the draft model's steps are a table of their own.
    c.observe('plain', 1, 90);
    expect(c.estimate('plain', 1)).toBe(31 - TRUSTED_SAMPLES);
    expect(c.estimate('draft', 1)).toBeNull();
  });

  it('estimates an untried row count optimistically, so that a chooser tries it', () => {
    const c = new StepCost();
    for (let i = 0; i < TRUSTED_SAMPLES; i++) c.observe('plain', 2, 40);
    // Below the only trusted count: scaled down in proportion; above it: as cheap as it.
    expect(c.estimate('plain', 1)).toBe(20);
    expect(c.estimate('plain', 5)).toBe(40);
    c.observe('plain', 5, 100); // one sample: not trusted yet
    expect(c.estimate('plain', 5)).toBe(40);
    c.observe('plain', 5, 100);
    expect(c.estimate('plain', 5)).toBe(100);
    expect(c.estimate('plain', 4)).toBe(40);
  });

  it('explores a row count again once its figure is stale', () => {
    const c = new StepCost();
    for (let i = 0; i < TRUSTED_SAMPLES; i++) c.observe('plain', 1, 10);
    for (let i = 0; i < TRUSTED_SAMPLES; i++) c.observe('plain', 3, 50);
    for (let i = 0; i < STALE_AFTER; i++) c.observe('plain', 1, 10);
    expect(c.estimate('plain', 3)).toBe(10);
  });
});
