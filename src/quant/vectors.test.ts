// The oracle from outside the project: ../shared/fixtures/quant-vectors (gguf-py 0.19 made the bytes of
// the legacy types and every `dequant`). Checks: dequantize(packed) is bit-exact for every format and row;
// quantize(input) is byte-exact for the legacy types; for the K-quants (whose vector bytes come from the
// fixture author's own round-to-nearest packer) our quantize-then-dequantize error stays within a stated
// factor of the row's max_abs_err.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED } from '../../test/paths.ts'; // throws if the shared data is missing: no silent skip
import { dequantize, FORMATS, quantize, type WeightFormat } from './index.ts';

const DIR = join(SHARED, 'fixtures', 'quant-vectors');

interface Row { name: string; n: number; n_blocks: number; input: number[]; packed_hex: string; dequant: number[]; max_abs_err: number }
interface VectorFile { type: WeightFormat; ggml_type_id: number; block_size: number; type_size: number; rows: Row[] }

const LEGACY: WeightFormat[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'];
const KQUANTS: WeightFormat[] = ['Q4_K', 'Q5_K', 'Q6_K'];

/**
 * Our K-quant round trip may be at most this much worse than the vectors' packer, row by row: not at all.
 * Measured ratios: 1.0 on gauss_256, gauss_512_varscale, positive_offset_512, neg_outlier_256; 0.68 (Q4_K,
 * Q5_K) and 0.62 (Q6_K) on outlier_256; 0.06 / 0.15 / 0.23 on tiny_256; zeros_256 exact.
 */
const K_ERROR_FACTOR = 1.0;

const load = (t: WeightFormat): VectorFile => JSON.parse(readFileSync(join(DIR, `${t}.json`), 'utf8')) as VectorFile;
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** max |a - b| with the difference rounded to f32, as the vectors' numpy computed it. */
const maxAbsErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(Math.fround(a[i] - b[i])));
  return e;
};

describe('quant test vectors (gguf-py 0.19)', () => {
  for (const t of [...LEGACY, ...KQUANTS]) {
    describe(t, () => {
      const file = load(t);

      it('has the block geometry of FORMATS', () => {
        expect(file.ggml_type_id).toBe(FORMATS[t].ggmlType);
        expect(file.block_size).toBe(FORMATS[t].blockElems);
        expect(file.type_size).toBe(FORMATS[t].blockBytes);
        expect(file.rows.length).toBeGreaterThanOrEqual(7);
      });

      for (const row of file.rows) {
        it(`${row.name}: dequantize is bit-exact`, () => {
          const bytes = hex(row.packed_hex);
          expect(bytes.length).toBe(row.n_blocks * file.type_size);
          const y = dequantize(t, bytes, row.n);
          let mismatches = 0;
          for (let i = 0; i < row.n; i++) if (!Object.is(Math.fround(y[i]) + 0, row.dequant[i] + 0)) mismatches++;
          expect(mismatches).toBe(0);
        });
      }

      if (LEGACY.includes(t)) {
        for (const row of file.rows) {
          it(`${row.name}: quantize gives gguf-py's bytes`, () => {
            const x = Float32Array.from(row.input);
            // The inputs are exact float32 values: nothing was lost in the JSON.
            expect(Array.from(x)).toEqual(row.input);
            expect(toHex(quantize(t, x))).toBe(row.packed_hex);
          });
        }
      } else {
        it(`round trip stays within ${K_ERROR_FACTOR}x the vectors' max_abs_err on every row`, () => {
          const ratios: Record<string, number> = {};
          for (const row of file.rows) {
            const x = Float32Array.from(row.input);
            const err = maxAbsErr(dequantize(t, quantize(t, x), row.n), x);
            // The vectors' own error, recomputed rather than trusted.
            expect(maxAbsErr(row.dequant, x)).toBe(row.max_abs_err);
            ratios[row.name] = row.max_abs_err === 0 ? (err === 0 ? 0 : Infinity) : err / row.max_abs_err;
            expect(err, row.name).toBeLessThanOrEqual(row.max_abs_err * K_ERROR_FACTOR);
          }
          console.log(`${t} round-trip error / vectors' error:`, ratios);
        });
      }
    });
  }
});
