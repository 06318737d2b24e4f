import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIRECT, encodePlan, HEADER_WORDS, ITEM_WORDS, planAttention } from '../../src/gpu/attentionPlan.ts';
import { findSharedPrefixes } from '../../src/gpu/sharedPrefix.ts';

describe('findSharedPrefixes', () => {
  it('finds the shared leading blocks as a tree: a system prompt for all, a request prompt per fork group', () => {
    const tables = [
      [0, 1, 2, 10, 11],
      [0, 1, 2, 10, 12],
      [0, 1, 2, 20, 21],
      [0, 1, 2, 20, 22],
      [5, 6],
      [0, 1],
    ];
    const { segments, tailStart } = findSharedPrefixes(tables);
    expect(segments).toEqual([
      { rows: [0, 1, 2, 3, 5], start: 0, end: 2 },
      { rows: [0, 1, 2, 3], start: 2, end: 3 },
      { rows: [0, 1], start: 3, end: 4 },
      { rows: [2, 3], start: 3, end: 4 },
    ]);
    expect(tailStart).toEqual([4, 4, 4, 4, 0, 2]);
  });

  it("keeps its invariant: a segment's rows hold the same ids over it, segments of a row are contiguous from 0", () => {
    const table = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 8 });
    fc.assert(
      fc.property(fc.array(table, { maxLength: 10 }), (tables) => {
        const { segments, tailStart } = findSharedPrefixes(tables);
        const reach = tables.map(() => 0);
        for (const seg of segments) {
          expect(seg.rows.length).toBeGreaterThanOrEqual(2);
          for (const r of seg.rows) {
            expect(seg.start).toBe(reach[r]); // outer segments first, no gaps
            expect(seg.end).toBeLessThanOrEqual(tables[r].length);
            for (let b = seg.start; b < seg.end; b++) expect(tables[r][b]).toBe(tables[seg.rows[0]][b]);
            reach[r] = seg.end;
          }
        }
        expect(tailStart).toEqual(reach);
      }),
    );
  });
});

/** rowMeta for chunks given as (table offset, first key count, rows): row i of a chunk attends to keys0 + i keys. */
function meta(chunks: Array<[number, number, number]>): { rowMeta: Uint32Array; chunkRows: number[] } {
  const words: number[] = [];
  for (const [offset, keys0, n] of chunks) for (let i = 0; i < n; i++) words.push(keys0 + i - 1, offset, 0, keys0 + i);
  return { rowMeta: Uint32Array.from(words), chunkRows: chunks.map((c) => c[2]) };
}

describe('planAttention', () => {
  const opts = { blockSize: 4, splitKeys: 8, maxQueries: 3, sharedPrefix: true };

  it("covers each row's keys exactly once, reads shared blocks once, and encodes what the kernels read", () => {
    const arb = fc.record({
      shared: fc.integer({ min: 0, max: 5 }),
      seqs: fc.array(fc.record({ own: fc.integer({ min: 0, max: 12 }), rows: fc.integer({ min: 1, max: 7 }), share: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      split: fc.integer({ min: 1, max: 12 }),
      on: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ shared, seqs, split, on }) => {
        let next = 100;
        const tables: number[] = [];
        const chunks: Array<[number, number, number]> = [];
        for (const s of seqs) {
          const keys0 = (s.share ? shared : 0) * 4 + s.own + 1;
          const blocks = Math.ceil((keys0 + s.rows - 1) / 4);
          chunks.push([tables.length, keys0, s.rows]);
          for (let b = 0; b < blocks; b++) tables.push(s.share && b < shared ? b : next++);
        }
        const { rowMeta, chunkRows } = meta(chunks);
        const o = { ...opts, splitKeys: split, sharedPrefix: on };
        const plan = planAttention(rowMeta, Uint32Array.from(tables), chunkRows, o);
        const rows = rowMeta.length / 4;
        for (let r = 0; r < rows; r++) {
          const covered = new Array<number>(rowMeta[r * 4 + 3]).fill(0);
          for (const it of plan.items) {
            if (!it.rows.includes(r)) continue;
            expect(it.k0).toBeLessThan(covered.length);
            for (let k = it.k0; k < Math.min(it.k1, covered.length); k++) covered[k]++;
            // The item's table holds the row's blocks over its keys.
            for (let k = it.k0; k < Math.min(it.k1, covered.length); k++) {
              expect(tables[it.table + Math.floor(k / 4)]).toBe(tables[rowMeta[r * 4 + 1] + Math.floor(k / 4)]);
            }
          }
          expect(covered.every((c) => c === 1)).toBe(true);
        }
        for (const it of plan.items) expect(it.rows.length).toBeLessThanOrEqual(o.maxQueries);
        expect(plan.keysRead).toBeLessThanOrEqual(plan.keysAttended);
        // The encoding: each query points at its row and a partial in that row's range, or DIRECT.
        const { words } = encodePlan(plan, 2, 8);
        expect(words[3]).toBe(plan.items.length);
        plan.items.forEach((it, i) => {
          const q = words[HEADER_WORDS + i * ITEM_WORDS + 3];
          expect(words[HEADER_WORDS + i * ITEM_WORDS + 4]).toBe(it.rows.length);
          it.rows.forEach((r, j) => {
            expect(words[q + 2 * j]).toBe(r);
            const p = words[q + 2 * j + 1];
            expect(p === DIRECT ? [DIRECT] : plan.partialsOf[r]).toContain(p);
          });
        });
      }),
      { numRuns: 30 },
    );
  });

  it('gives 16 decoding rows that share a 1,024-token prefix one read of it (at most 1/8 of the keys without sharing)', () => {
    const blocks = 1024 / 16;
    const tables: number[] = [];
    const chunks: Array<[number, number, number]> = [];
    for (let s = 0; s < 16; s++) {
      chunks.push([tables.length, 1024 + 40, 1]);
      for (let b = 0; b < blocks + 3; b++) tables.push(b < blocks ? b : 1000 + s * 3 + b);
    }
    const { rowMeta, chunkRows } = meta(chunks);
    const o = { blockSize: 16, splitKeys: 256, maxQueries: 16 };
    const on = planAttention(rowMeta, Uint32Array.from(tables), chunkRows, { ...o, sharedPrefix: true });
    const off = planAttention(rowMeta, Uint32Array.from(tables), chunkRows, { ...o, sharedPrefix: false });
    expect(off.keysRead).toBe(16 * 1064);
    expect(on.keysRead).toBe(1024 + 16 * 40);
    expect(on.keysRead / off.keysRead).toBeLessThanOrEqual(1 / 8);
  });

  it('refuses a row with no keys', () => {
    const { rowMeta, chunkRows } = meta([[0, 0, 1]]);
    expect(() => planAttention(rowMeta, Uint32Array.of(0), chunkRows, opts)).toThrow(/no keys/);
  });
});
