import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dequantize, FORMATS, quantize, type WeightFormat } from '../../src/quant/index.ts';
import { SHARED } from '../paths.ts';

/**
 * The README's table of weight formats ("what each weight format costs"): bits per weight from
 * the block layouts, and the relative RMS error of one quantize-dequantize round trip of the
 * Gaussian rows of the quant vectors through Folio's quantizers. The numbers in the README are
 * these, rounded to two digits; a quantizer that gets worse fails here.
 */
const TABLE: [WeightFormat, number, number][] = [
  ['F16', 16, 1.9e-4],
  ['Q8_0', 8.5, 5.7e-3],
  ['Q6_K', 6.5625, 1.9e-2],
  ['Q5_K', 5.5, 4.2e-2],
  ['Q5_0', 5.5, 4.5e-2],
  ['Q5_1', 6, 4.2e-2],
  ['Q4_K', 4.5, 8.0e-2],
  ['Q4_1', 5, 8.0e-2],
  ['Q4_0', 4.5, 9.3e-2],
];

function gaussRows(): Float32Array[] {
  const v = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'quant-vectors', 'Q8_0.json'), 'utf8')) as { rows: { name: string; input: number[] }[] };
  return v.rows.filter((r) => r.name.startsWith('gauss')).map((r) => Float32Array.from(r.input));
}

describe('what each weight format costs (the README table)', () => {
  it('bits per weight and round-trip error on N(0,1) values', () => {
    const rows = gaussRows();
    expect(rows.reduce((n, r) => n + r.length, 0)).toBe(768);
    for (const [format, bits, error] of TABLE) {
      const f = FORMATS[format];
      expect((f.blockBytes * 8) / f.blockElems, format).toBe(bits);
      let se = 0;
      let ss = 0;
      for (const x of rows) {
        const y = dequantize(format, quantize(format, x), x.length);
        for (let i = 0; i < x.length; i++) {
          se += (x[i] - y[i]) ** 2;
          ss += x[i] ** 2;
        }
      }
      const rel = Math.sqrt(se / ss);
      expect(Math.abs(rel - error) / error, `${format}: ${rel}`).toBeLessThan(0.03);
    }
  });
});
