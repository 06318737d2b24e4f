// Weight runs cut into chunks of whole rows (src/gpu/packedRuns.ts), pure: the chunks, back to back,
// are the run's bytes, each holds at most its row count, and rowsPerChunk keeps padded buffers within a limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowsPerChunk, runChunks, type RunSource } from '../../src/gpu/packedRuns.ts';

describe('runChunks', () => {
  it('concatenated chunks equal the run, whatever the row size, tensor boundaries and chunk size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 30 }), (rowBytes, tensorRows, per) => {
        let seed = rowBytes * 31 + per;
        const parts = tensorRows.map((r) => Uint8Array.from({ length: r * rowBytes }, () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff));
        const rows = tensorRows.reduce((a, b) => a + b, 0);
        const run: RunSource = { format: 'Q4_0', rows, rowBytes, parts };
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        let row = 0;
        for (const ch of runChunks(run, per)) {
          expect(ch.row0).toBe(row);
          expect(ch.rows).toBeLessThanOrEqual(per);
          expect(ch.words.byteLength).toBe(Math.ceil((ch.rows * rowBytes) / 4) * 4);
          expect(new Uint8Array(ch.words.buffer, 0, ch.rows * rowBytes)).toEqual(all.subarray(row * rowBytes, (row + ch.rows) * rowBytes));
          row += ch.rows;
        }
        expect(row).toBe(rows);
      }),
    );
  });

  it('rowsPerChunk: the rows of a chunk, padded to 16 bytes, fit the limit; one more would not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 16, max: 1 << 20 }), (rowBytes, limit) => {
        const per = rowsPerChunk(rowBytes, limit);
        if (per > 0) expect(Math.ceil((per * rowBytes) / 16) * 16).toBeLessThanOrEqual(limit);
        expect(Math.ceil(((per + 1) * rowBytes) / 16) * 16).toBeGreaterThan(Math.floor(limit / 16) * 16);
      }),
    );
  });
});
