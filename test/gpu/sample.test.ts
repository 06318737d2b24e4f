import { beforeAll, describe, expect, it } from 'vitest';
import { NON_FINITE_ID } from '../../src/engine/ForwardBackend.ts';
import { foldedGrid } from '../../src/gpu/grid.ts';
import { samplePipeline } from '../../src/gpu/kernels.ts';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import { sampleWithU, type DrawParams } from '../../src/sampling/sample.ts';
import { dispatch, empty, readU32, rowsUniform, upload } from './harness.ts';
import { prng } from './randomModel.ts';

let device: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
});

type Row = DrawParams & { u: number };

/** Runs wgsl/sample.wgsl over `logits` ([rows, vocab]) with one params row each. */
async function gpuSample(logits: Float32Array<ArrayBuffer>, vocab: number, rows: Row[], lanes: number): Promise<number[]> {
  const params = new ArrayBuffer(rows.length * 16);
  const f = new Float32Array(params);
  const u = new Uint32Array(params);
  rows.forEach((r, i) => {
    f[i * 4] = r.temperature;
    u[i * 4 + 1] = r.topK;
    f[i * 4 + 2] = r.topP;
    f[i * 4 + 3] = r.u;
  });
  const ids = empty(device, rows.length);
  const grid = foldedGrid(Math.ceil(rows.length / (64 / lanes)), 65535);
  await dispatch(device, samplePipeline(device, vocab, lanes), [rowsUniform(device, rows.length), upload(device, logits), upload(device, f), ids], grid);
  return Array.from(await readU32(device, ids, rows.length));
}

/**
 * Logits whose values are well separated (distinct multiples of `step` in a shuffled order),
 * so that no threshold or running sum lands within float rounding of a boundary by accident.
 */
function separatedRow(rand: () => number, vocab: number, step: number): Float32Array {
  const order = Array.from({ length: vocab }, (_, i) => i);
  for (let i = vocab - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Float32Array.from(order, (o) => (o - vocab / 2) * step);
}

/** The truncated softmax by the textbook route (f64, sort): what sampleWithU must draw from. */
function truncatedSoftmax(l: Float32Array, p: DrawParams): number[] {
  const ids = Array.from(l.keys()).sort((a, b) => l[b] - l[a]);
  const max = l[ids[0]];
  const e = ids.map((i) => Math.exp((l[i] - max) / p.temperature));
  const z = e.reduce((s, v) => s + v, 0);
  let kept = p.topK > 0 ? Math.min(p.topK, ids.length) : ids.length;
  if (p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < kept; i++) {
      cum += e[i] / z;
      if (cum >= p.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const mass = e.slice(0, kept).reduce((s, v) => s + v, 0);
  const out = new Array<number>(l.length).fill(0);
  for (let i = 0; i < kept; i++) out[ids[i]] = e[i] / mass;
  return out;
}

const settings: DrawParams[] = [
  { temperature: 0, topK: 0, topP: 1 },
  { temperature: 1, topK: 0, topP: 1 },
  { temperature: 0.7, topK: 5, topP: 1 },
  { temperature: 1.3, topK: 0, topP: 0.9 },
  { temperature: 0.5, topK: 40, topP: 0.6 },
  { temperature: 2, topK: 1, topP: 1 },
  { temperature: 0, topK: 3, topP: 0.5 },
  { temperature: 1, topK: 1000, topP: 0.999 },
];

describe('sampling on the GPU (wgsl/sample.wgsl)', () => {
  it.each([1, 4, 64])('picks exactly what src/sampling/sample.ts picks for the same u, mixed greedy and sampled rows (%i lanes per row)', async (lanes) => {
    const vocab = 1000;
    const rand = prng(17 + lanes);
    const nRows = 24;
    const rows = Array.from({ length: nRows }, () => separatedRow(rand, vocab, 0.01 + rand() * 0.02));
    const logits = new Float32Array(nRows * vocab);
    rows.forEach((r, i) => logits.set(r, i * vocab));
    let sampledDifferent = 0;
    for (let round = 0; round < 6; round++) {
      const params: Row[] = rows.map((_, i) => ({ ...settings[(i + round) % settings.length], u: Math.fround(rand()) }));
      const got = await gpuSample(logits.slice(), vocab, params, lanes);
      const want = params.map((p, i) => sampleWithU(rows[i], p, p.u));
      expect(got).toEqual(want);
      params.forEach((p, i) => {
        if (p.temperature > 0 && want[i] !== sampleWithU(rows[i], { temperature: 0, topK: 0, topP: 1 }, 0)) sampledDifferent++;
      });
    }
    expect(sampledDifferent).toBeGreaterThan(20); // the draws are not all the argmax
  });

  it('gives the argmax at temperature 0, ties to the lowest index, and NON_FINITE_ID for a row with NaN or Inf at any temperature', async () => {
    const vocab = 300;
    const a = new Float32Array(vocab).fill(-1);
    a[7] = 5;
    a[250] = 5;
    const b = new Float32Array(vocab).fill(-Infinity);
    const logits = new Float32Array(3 * vocab);
    logits.set(a, 0);
    logits.set(b, vocab);
    logits.set(a, 2 * vocab);
    for (const lanes of [1, 64]) {
      const got = await gpuSample(logits.slice(), vocab, [
        { temperature: 0, topK: 0, topP: 1, u: 0.9 },
        { temperature: 1, topK: 0, topP: 1, u: 0.5 },
        { temperature: 1, topK: 1, topP: 1, u: 0.9 }, // a tie at the threshold is kept whole
      ], lanes);
      expect(got).toEqual([7, NON_FINITE_ID, 250]);
      expect(sampleWithU(a, { temperature: 1, topK: 1, topP: 1 }, 0.9)).toBe(250);
    }
  });

  it.each([
    [{ temperature: 1, topK: 0, topP: 1 }, 1],
    [{ temperature: 0.6, topK: 8, topP: 1 }, 1],
    [{ temperature: 1.5, topK: 0, topP: 0.7 }, 1],
    [{ temperature: 1, topK: 12, topP: 0.8 }, 64],
  ])('draw frequencies over many u follow the truncated softmax (%o, %i lanes per row)', async (p: DrawParams, lanes: number) => {
    const vocab = 64;
    const row = separatedRow(prng(5), vocab, 0.15);
    const n = 4000;
    const logits = new Float32Array(n * vocab);
    for (let i = 0; i < n; i++) logits.set(row, i * vocab);
    const rand = prng(99);
    const params: Row[] = Array.from({ length: n }, () => ({ ...p, u: Math.fround(rand()) }));
    const got = await gpuSample(logits, vocab, params, lanes);
    const want = truncatedSoftmax(row, p);
    const counts = new Array<number>(vocab).fill(0);
    for (const id of got) counts[id]++;
    // Never outside the kept set; each kept token within 4 standard deviations of its share.
    for (let i = 0; i < vocab; i++) {
      if (want[i] === 0) expect(counts[i], `token ${i} is outside the kept set`).toBe(0);
      else expect(Math.abs(counts[i] / n - want[i])).toBeLessThan(4 * Math.sqrt((want[i] * (1 - want[i])) / n) + 1e-3);
    }
    expect(want.filter((q) => q > 0).length).toBeGreaterThan(1);
  });
});
