// The 'gpu' set's GEMV grid (src/gpu/gemv.ts planGemv), pure: the invariants written next to it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planGemv, TARGET_WORKGROUPS } from '../../src/gpu/gemv.ts';
import { unitElems } from '../../src/gpu/formatKernels.ts';
import { FORMATS, type WeightFormat } from '../../src/quant/index.ts';

const ALL = Object.keys(FORMATS) as WeightFormat[];

describe('planGemv', () => {
  it('rows 1/2/4, split a power of two <= 16 keeping >= 64 units per slice, and as many workgroups as the shape allows up to the target', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200_000 }), (format, blocks, n) => {
        const k = blocks * Math.max(FORMATS[format].blockElems, unitElems(format));
        const units = k / unitElems(format);
        const p = planGemv(format, k, n);
        expect([1, 2, 4]).toContain(p.rows);
        expect([1, 2, 4, 8, 16]).toContain(p.split);
        expect(p.lanes).toBe(64); // a GPU: one row group of 64 lanes per workgroup, coalesced along K
        expect(p.workgroups).toBe(Math.ceil(n / p.rows) * p.split);
        if (p.split > 1) expect(units / p.split).toBeGreaterThanOrEqual(64);
        // Fewer rows per workgroup only when 4 would leave the grid short of the target.
        if (p.rows < 4) expect(Math.ceil(n / (p.rows * 2))).toBeLessThan(TARGET_WORKGROUPS);
        // K split only while short of the target, and further whenever both still allow it.
        if (p.split > 1) expect(Math.ceil(n / p.rows) * (p.split / 2)).toBeLessThan(TARGET_WORKGROUPS);
        if (p.workgroups < TARGET_WORKGROUPS && p.split < 16) expect(units / (p.split * 2)).toBeLessThan(64);
      }),
    );
  });

  it('SmolLM2-135M and Llama-3.2-1B decode shapes fill the target or split K', () => {
    expect(planGemv('Q4_0', 576, 576)).toEqual({ rows: 1, lanes: 64, split: 1, workgroups: 576 }); // o_proj: 18 units a row, too few to split
    expect(planGemv('F32', 576, 576)).toEqual({ rows: 1, lanes: 64, split: 1, workgroups: 576 });
    expect(planGemv('Q4_0', 2048, 128256)).toEqual({ rows: 4, lanes: 64, split: 1, workgroups: 32064 }); // the LM head
    expect(planGemv('F16', 8192, 2048).workgroups).toBeGreaterThanOrEqual(TARGET_WORKGROUPS); // down
    expect(planGemv('F32', 2048, 256)).toEqual({ rows: 1, lanes: 64, split: 2, workgroups: 512 }); // a narrow product: K split in 2
  });

  it('a CPU adapter gets one lane per row group, 4 rows each, no split: no reduction and no barrier', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200_000 }), (format, blocks, n) => {
        const k = blocks * Math.max(FORMATS[format].blockElems, unitElems(format));
        const p = planGemv(format, k, n, true);
        expect(p).toEqual({ rows: 4, lanes: 1, split: 1, workgroups: Math.ceil(n / 256) });
      }),
    );
  });
});
