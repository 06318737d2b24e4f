// wgsl/formats/* through wgsl/dequantize.wgsl on Dawn (SwiftShader): the GPU decode of packed weights
// equals the reference bit for bit, for every format, through both entry points of each preamble
// (dequant_unit and the per-element dequant).
// - Block formats: the oracle is ../shared/fixtures/quant-vectors (gguf-py 0.19's exact `dequant` of
//   `packed_hex`), all rows of a file back to back, read as rows of 256 and (32-element blocks) of 32,
//   so rows start at odd half-words too (Q4_0's 18-byte rows).
// - F32, F16, BF16 (no vectors exist): the vectors' inputs plus special values, packed by src/quant,
//   and every one of the 65536 f16 and bf16 bit patterns; the oracle is src/quant's dequantize.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { dequantizeInvocations, dequantizePipeline, type DequantizeSpec, packedWords } from '../../src/gpu/formatKernels.ts';
import { grid64 } from '../../src/gpu/grid.ts';
import { dequantize, quantize, type WeightFormat } from '../../src/quant/index.ts';
import { SHARED } from '../paths.ts';
import { dispatch, empty, readF32, upload } from './harness.ts';

interface Row { name: string; n: number; input: number[]; packed_hex: string; dequant: number[] }
interface VectorFile { type: WeightFormat; rows: Row[] }

const DIR = join(SHARED, 'fixtures', 'quant-vectors');
const BLOCK_FORMATS: WeightFormat[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];
const load = (t: WeightFormat): VectorFile => JSON.parse(readFileSync(join(DIR, `${t}.json`), 'utf8')) as VectorFile;
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let device: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
});

async function runDequantize(spec: DequantizeSpec, bytes: Uint8Array): Promise<Float32Array> {
  const out = empty(device, spec.rows * spec.k);
  const weights = upload(device, packedWords(bytes));
  await dispatch(device, dequantizePipeline(device, spec), [weights, out], grid64(dequantizeInvocations(spec), 65535));
  const got = await readF32(device, out, spec.rows * spec.k);
  weights.destroy();
  out.destroy();
  return got;
}

/** Indices where got and want differ in their bits (two NaNs count as equal: payloads may be quieted). */
function bitMismatches(got: Float32Array, want: Float32Array): number[] {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const bad: number[] = [];
  for (let i = 0; i < want.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad.push(i);
  }
  return bad;
}

function expectBitExact(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  const bad = bitMismatches(got, want);
  const first = bad.slice(0, 5).map((i) => `[${i}] got ${got[i]} want ${want[i]}`).join('; ');
  expect(bad.length, `${what}: ${bad.length} values differ: ${first}`).toBe(0);
}

describe('GPU dequantize equals the quant test vectors bit for bit', () => {
  for (const format of BLOCK_FORMATS) {
    const file = load(format);
    const bytes = concat(file.rows.map((r) => hex(r.packed_hex)));
    const want = Float32Array.from(file.rows.flatMap((r) => r.dequant));
    const total = want.length;
    const widths = format.endsWith('_K') ? [256] : [256, 32];
    for (const k of widths) {
      it(`${format}: ${file.rows.length} rows (${total} values) as rows of ${k}, unit and per-element decode`, async () => {
        expect(total % k).toBe(0);
        // The TypeScript reference agrees with the vectors too (the CPU side of the same oracle).
        expectBitExact(dequantize(format, bytes, total), want, `${format} TypeScript`);
        for (const single of [false, true]) {
          const got = await runDequantize({ format, k, rows: total / k, single }, bytes);
          expectBitExact(got, want, `${format} k=${k} ${single ? 'dequant' : 'dequant_unit'}`);
        }
      });
    }
  }
});

describe('GPU dequantize of the plain float formats equals src/quant bit for bit', () => {
  const inputs = Float32Array.from(load('Q8_0').rows.flatMap((r) => r.input));
  const specials = Float32Array.of(0, -0, 1, -1, 65504, -65504, 65520, 6.1e-5, 5.96e-8, 3e-8, 1e-40, -1e-45, 3.4e38, 1e-30, Infinity, -Infinity, NaN, 0.1, 1 / 3, -2.5e-7);
  const values = new Float32Array(inputs.length + 4 * 16 * 8); // a whole number of 32-element rows
  values.set(inputs);
  for (let i = inputs.length, j = 0; i < values.length; i++, j++) values[i] = specials[j % specials.length] * (1 + (j >> 5));
  const everyPattern = new Uint8Array(new Uint16Array(Array.from({ length: 65536 }, (_, i) => i)).buffer);

  for (const format of ['F32', 'F16', 'BF16'] as const) {
    const cases: [string, Uint8Array][] = [['the vectors\' inputs and special values', quantize(format, values)]];
    if (format !== 'F32') cases.push(['all 65536 bit patterns', everyPattern]);
    for (const [what, bytes] of cases) {
      it(`${format}: ${what}`, async () => {
        const total = bytes.length / (format === 'F32' ? 4 : 2);
        const want = dequantize(format, bytes, total);
        for (const single of [false, true]) {
          const got = await runDequantize({ format, k: 256, rows: total / 256, single }, bytes);
          expectBitExact(got, want, `${format} ${single ? 'dequant' : 'dequant_unit'}`);
        }
      });
    }
  }
});
