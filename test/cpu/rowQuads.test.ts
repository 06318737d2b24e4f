import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unitAt, unitCols, writeRowQuads } from '../../src/cpu/wasm/rowQuads.ts';
import { shareEnd } from '../../src/cpu/wasm/threads/ThreadPool.ts';
import { unitBytes } from '../../src/cpu/wasm/wat/matmul.ts';

describe('the matmul weight layout: rows in quads, interleaved unit by unit', () => {
  it('unitAt finds every unit of every row where writeRowQuads put it, and the tensor keeps its size', () => {
    fc.assert(
      fc.property(fc.constantFrom('f32', 'f16', 'q8_0', 'q4_0' as const), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3 }), (format, rows, units, pad) => {
        const unit = unitBytes(format);
        const rowBytes = units * unit;
        const src = Uint8Array.from({ length: rows * rowBytes }, (_, i) => (i * 7 + 3) % 251);
        const at = 16 * pad + (format.startsWith('q') ? 2 * pad : 0); // aligned and unaligned starts
        const heap = new Uint8Array(at + rows * rowBytes + 16).fill(255);
        writeRowQuads(src, heap, at, rows, rowBytes, format);
        const t = { at, format, rows, cols: units * unitCols(format), rowBytes };
        for (let r = 0; r < rows; r++) {
          for (let u = 0; u < units; u++) {
            const p = unitAt(t, r, u);
            expect([...heap.subarray(p, p + unit)]).toEqual([...src.subarray(r * rowBytes + u * unit, r * rowBytes + (u + 1) * unit)]);
          }
        }
        expect(heap.subarray(0, at).every((b) => b === 255)).toBe(true);
        expect(heap.subarray(at + rows * rowBytes).every((b) => b === 255)).toBe(true);
      }),
    );
  });

  it('thread shares cover the rows in order, each but the last ending on a whole quad', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 8 }), (rows, shares) => {
        expect(shareEnd(0, shares, rows)).toBe(0);
        expect(shareEnd(shares, shares, rows)).toBe(rows);
        for (let i = 1; i <= shares; i++) {
          expect(shareEnd(i, shares, rows)).toBeGreaterThanOrEqual(shareEnd(i - 1, shares, rows));
          if (i < shares) expect(shareEnd(i, shares, rows) % 4).toBe(0);
        }
      }),
    );
  });
});
