import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { F16_TABLE_BYTES, instantiateKernels } from '../../src/cpu/wasm/kernels.ts';
import { placeRowQuads, unitAt, unitCols } from '../../src/cpu/wasm/rowQuads.ts';
import { shareEnd } from '../../src/cpu/wasm/threads/ThreadPool.ts';
import { unitBytes } from '../../src/cpu/wasm/wat/decoders.ts';

describe('the matmul weight layout: rows in quads, interleaved unit by unit (wat/placeQuads.ts)', () => {
  it('place_quads puts every unit of every row where unitAt finds it, in place, touching nothing else', async () => {
    const mem = new WebAssembly.Memory({ initial: 8, maximum: 8 });
    const k = await instantiateKernels(mem, 0);
    const heap = new Uint8Array(mem.buffer);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('f32', 'f16', 'q8_0', 'q4_0' as const), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3 }), async (format, rows, units, pad) => {
        const unit = unitBytes(format);
        const rowBytes = units * unit;
        const src = Uint8Array.from({ length: rows * rowBytes }, (_, i) => (i * 7 + 3) % 251);
        const at = F16_TABLE_BYTES + 2 * pad; // unaligned starts too
        const scratch = F16_TABLE_BYTES + 4096;
        heap.fill(255, at - 16, at + rows * rowBytes + 16);
        heap.set(src, at);
        const t = { at, format, rows, cols: units * unitCols(format), rowBytes };
        placeRowQuads(k, t, scratch);
        for (let r = 0; r < rows; r++) {
          for (let u = 0; u < units; u++) {
            const p = unitAt(t, r, u);
            expect([...heap.subarray(p, p + unit)]).toEqual([...src.subarray(r * rowBytes + u * unit, r * rowBytes + (u + 1) * unit)]);
          }
        }
        expect(heap.subarray(at - 16, at).every((b) => b === 255)).toBe(true);
        expect(heap.subarray(at + rows * rowBytes, at + rows * rowBytes + 16).every((b) => b === 255)).toBe(true);
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
