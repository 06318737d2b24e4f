import { beforeAll, describe, expect, it } from 'vitest';
import { NON_FINITE_ID } from '../../src/engine/ForwardBackend.ts';
import { matvec, rmsnorm } from '../../src/cpu/ops.ts';
import { applyRope, ropeInvFreq } from '../../src/cpu/rope.ts';
import { grid64 } from '../../src/gpu/grid.ts';
import {
  attentionPipeline,
  copyBlocksPipeline,
  samplePipeline,
  gatherPipeline,
  type KernelShape,
  kernelShape,
  kvWritePipeline,
  matmulPipeline,
  rmsnormPipeline,
  ropePipeline,
  siluMulPipeline,
} from '../../src/gpu/kernels.ts';
import { packStep } from '../../src/gpu/stepInputs.ts';
import { dawnDevice, dawnGpu } from '../../src/gpu/dawn.ts';
import { type AttentionIo, type AttentionRows, FlashAttention, ropeKvWritePipeline } from '../../src/gpu/attention.ts';
import type { AttentionPlan } from '../../src/gpu/attentionPlan.ts';
import { GpuDevice } from '../../src/gpu/device.ts';
import { KERNEL_SETS } from './kernelSets.ts';
import { dispatch, empty, readF32, readU32, rowsUniform, upload } from './harness.ts';
import { argmax, maxAbsDiff, prng, qwenLikeConfig, randomArray } from './randomModel.ts';

let device: GPUDevice;
beforeAll(async () => {
  device = await dawnDevice();
});
const testDevice = () => device;

/** A GpuDevice (what the 'gpu' set's attention takes), made on first use. */
let gpuDeviceMemo: Promise<GpuDevice> | null = null;
const gpuDevice = () => (gpuDeviceMemo ??= GpuDevice.request(dawnGpu()));

const MAX = 65535;

describe('gather_rows', () => {
  it('copies the indexed rows', async () => {
    const width = 64;
    const table = randomArray(prng(1), 10 * width);
    const index = Uint32Array.of(3, 0, 9, 3);
    const out = empty(device, index.length * width);
    await dispatch(device, gatherPipeline(device, width), [rowsUniform(device, 4), upload(device, table), upload(device, index), out], grid64(4 * width, MAX));
    const got = await readF32(device, out, index.length * width);
    const want = new Float32Array(index.length * width);
    index.forEach((r, i) => want.set(table.subarray(r * width, (r + 1) * width), i * width));
    expect(got).toEqual(want);
  });
});

describe('rmsnorm', () => {
  it.each([
    [64, 1],
    [100, 1],
    [100, 8],
    [64, 64],
    [100, 64],
  ])('matches the reference for hidden %i with %i lanes per row', async (hidden, lanes) => {
    const rand = prng(hidden);
    const rows = 11;
    const x = randomArray(rand, rows * hidden, 3);
    const w = randomArray(rand, hidden, 1);
    const y = empty(device, rows * hidden);
    const grid: [number, number] = [Math.ceil(rows / (64 / lanes)), 1];
    await dispatch(device, rmsnormPipeline(device, hidden, 1e-5, lanes), [rowsUniform(device, rows), upload(device, x), upload(device, w), y], grid);
    const got = await readF32(device, y, rows * hidden);
    const want = new Float32Array(rows * hidden);
    for (let r = 0; r < rows; r++) {
      rmsnorm(want.subarray(r * hidden, (r + 1) * hidden), x.subarray(r * hidden, (r + 1) * hidden), w, 1e-5);
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });
});

describe('matmul', () => {
  const cases = [
    { m: 1, k: 64, n: 13, bias: true, accumulate: false },
    { m: 7, k: 172, n: 300, bias: false, accumulate: true },
    { m: 9, k: 8, n: 4, bias: true, accumulate: true },
    { m: 4, k: 64, n: 512, bias: false, accumulate: false },
  ];
  it.each(cases)('y = x w^T for M=$m K=$k N=$n bias=$bias accumulate=$accumulate', async ({ m, k, n, bias, accumulate }) => {
    const rand = prng(m * 1000 + n);
    const x = randomArray(rand, m * k);
    const w = randomArray(rand, n * k);
    const b = randomArray(rand, n);
    const y0 = randomArray(rand, m * n);
    const y = upload(device, y0);
    const pipeline = matmulPipeline(device, { k, n, bias, accumulate });
    await dispatch(device, pipeline, [rowsUniform(device, m), upload(device, x), upload(device, w), upload(device, bias ? b : new Float32Array(4)), y], [Math.ceil(n / 256), Math.ceil(m / 4)]);
    const got = await readF32(device, y, m * n);
    const want = new Float32Array(m * n);
    for (let r = 0; r < m; r++) {
      const row = want.subarray(r * n, (r + 1) * n);
      matvec(row, w, x.subarray(r * k, (r + 1) * k), n, k, bias ? b : undefined);
      if (accumulate) for (let j = 0; j < n; j++) row[j] += y0[r * n + j];
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });

  it('refuses an input width that is not a multiple of 4', () => {
    expect(() => matmulPipeline(device, { k: 6, n: 4, bias: false, accumulate: false })).toThrow(/multiple of 4/);
  });
});

describe('rope', () => {
  it('rotates q and k heads like the reference, llama3 scaling included', async () => {
    const c = qwenLikeConfig;
    const s = kernelShape(c, 16);
    const positions = [0, 1, 17, 63, 300];
    const stride = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    const qkv = randomArray(prng(5), positions.length * stride);
    const invFreq = ropeInvFreq(c);
    const step = packStep(
      { chunks: positions.map((p) => ({ tokens: [1], startPos: p, blockTable: Array.from({ length: 20 }, (_, i) => i + (p % 3) * 20) })), logits: 'last' },
      c,
      { blockSize: 16, numBlocks: 60 },
      invFreq,
      'last',
    );
    const buf = upload(device, qkv);
    const pairs = (positions.length * (c.numHeads + c.numKvHeads) * c.headDim) / 2;
    await dispatch(device, ropePipeline(device, s), [rowsUniform(device, positions.length), upload(device, step.rope), buf], grid64(pairs, MAX));
    const got = await readF32(device, buf, qkv.length);
    const want = qkv.slice();
    positions.forEach((p, r) => {
      const row = want.subarray(r * stride, (r + 1) * stride);
      applyRope(row.subarray(0, c.numHeads * c.headDim), c.numHeads, c.headDim, p, invFreq);
      applyRope(row.subarray(c.numHeads * c.headDim, (c.numHeads + c.numKvHeads) * c.headDim), c.numKvHeads, c.headDim, p, invFreq);
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
  });
});

/** Index of element 0 of (slot, kv head) in a pool. */
function poolOffset(s: KernelShape, slot: number, h: number): number {
  const block = Math.floor(slot / s.blockSize);
  return ((block * s.numKvHeads + h) * s.blockSize + (slot % s.blockSize)) * s.headDim;
}

describe('kv_write', () => {
  it('scatters k and v heads into their slots', async () => {
    const s = kernelShape(qwenLikeConfig, 8);
    const numBlocks = 6;
    const stride = (s.numHeads + 2 * s.numKvHeads) * s.headDim;
    const kvDim = s.numKvHeads * s.headDim;
    const slots = [0, 13, 47, 5];
    const qkv = randomArray(prng(9), slots.length * stride);
    const meta = new Uint32Array(slots.flatMap((slot) => [0, 0, slot, 0]));
    const poolLen = numBlocks * kvDim * s.blockSize;
    const k = empty(device, poolLen);
    const v = empty(device, poolLen);
    await dispatch(device, kvWritePipeline(device, s), [rowsUniform(device, slots.length), upload(device, meta), upload(device, qkv), k, v], grid64(slots.length * kvDim, MAX));
    const wantK = new Float32Array(poolLen);
    const wantV = new Float32Array(poolLen);
    slots.forEach((slot, r) => {
      for (let h = 0; h < s.numKvHeads; h++) {
        const src = r * stride + s.numHeads * s.headDim + h * s.headDim;
        wantK.set(qkv.subarray(src, src + s.headDim), poolOffset(s, slot, h));
        wantV.set(qkv.subarray(src + kvDim, src + kvDim + s.headDim), poolOffset(s, slot, h));
      }
    });
    expect(await readF32(device, k, poolLen)).toEqual(wantK);
    expect(await readF32(device, v, poolLen)).toEqual(wantV);
  });
});

/** Runs the 'gpu' set's attention (partial + reduce) on one layer's buffers, `splitKeys` keys per item. */
async function flashAttention(gd: GpuDevice, s: KernelShape, step: AttentionRows, io: AttentionIo, pools: { k: GPUBuffer[]; v: GPUBuffer[] }, splitKeys: number): Promise<AttentionPlan> {
  const fa = new FlashAttention(gd, s, pools, { sharedPrefix: false, splitKeys });
  const plan = fa.prepare(step, io);
  const encoder = gd.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  fa.encode(pass, 0, MAX);
  pass.end();
  gd.device.pushErrorScope('validation');
  gd.device.queue.submit([encoder.finish()]);
  const err = await gd.device.popErrorScope();
  if (err) throw new Error(err.message);
  await gd.device.queue.onSubmittedWorkDone();
  fa.destroy();
  return plan;
}

describe('rope_kv_write (the gpu set)', () => {
  it('rotates q in place and writes rotated k and v into the slots, as rope then kv_write do', async () => {
    const c = qwenLikeConfig;
    const s = kernelShape(c, 8);
    const numBlocks = 6;
    const stride = (s.numHeads + 2 * s.numKvHeads) * s.headDim;
    const kvDim = s.numKvHeads * s.headDim;
    const positions = [0, 17, 300];
    const slots = [0, 13, 47];
    const qkv = randomArray(prng(8), positions.length * stride);
    const invFreq = ropeInvFreq(c);
    const step = packStep({ chunks: positions.map((p) => ({ tokens: [1], startPos: p, blockTable: Array(40).fill(0) })), logits: 'last' }, c, { blockSize: 8, numBlocks: 60 }, invFreq, 'last');
    const meta = new Uint32Array(slots.flatMap((slot) => [0, 0, slot, 0]));
    const poolLen = numBlocks * kvDim * s.blockSize;
    const k = empty(device, poolLen);
    const v = empty(device, poolLen);
    const buf = upload(device, qkv);
    const pairs = (positions.length * stride) / 2;
    await dispatch(device, ropeKvWritePipeline(device, s), [rowsUniform(device, positions.length), upload(device, meta), upload(device, step.rope), buf, k, v], grid64(pairs, MAX));
    const want = qkv.slice();
    const wantK = new Float32Array(poolLen);
    const wantV = new Float32Array(poolLen);
    positions.forEach((p, r) => {
      const row = want.subarray(r * stride, (r + 1) * stride);
      applyRope(row.subarray(0, c.numHeads * c.headDim), c.numHeads, c.headDim, p, invFreq);
      const rotatedK = row.slice(c.numHeads * c.headDim, c.numHeads * c.headDim + kvDim);
      applyRope(rotatedK, c.numKvHeads, c.headDim, p, invFreq);
      for (let h = 0; h < s.numKvHeads; h++) {
        wantK.set(rotatedK.subarray(h * s.headDim, (h + 1) * s.headDim), poolOffset(s, slots[r], h));
        const src = c.numHeads * c.headDim + kvDim + h * s.headDim;
        wantV.set(row.subarray(src, src + s.headDim), poolOffset(s, slots[r], h));
      }
    });
    const got = await readF32(device, buf, qkv.length);
    const qOnly = (a: Float32Array) => Float32Array.from(a).map((x, i) => (i % stride < c.numHeads * c.headDim ? x : 0));
    expect(maxAbsDiff(qOnly(got), qOnly(want))).toBeLessThan(2e-6);
    expect(maxAbsDiff(await readF32(device, k, poolLen), wantK)).toBeLessThan(2e-6);
    expect(await readF32(device, v, poolLen)).toEqual(wantV);
  });
});

describe('paged attention', () => {
  const cases = KERNEL_SETS.flatMap((set) => [5, 8, 32].map((blockSize) => ({ set, blockSize })));
  it.each(cases)('attends causally through scrambled block tables ($set kernels, block size $blockSize, GQA, mixed rows, w keys)', async ({ set, blockSize }) => {
    const gd = set === 'gpu' ? await gpuDevice() : null;
    const device = gd ? gd.device : testDevice();
    const s: KernelShape = { ...kernelShape(qwenLikeConfig, blockSize) };
    const rand = prng(blockSize);
    const numBlocks = 40;
    const kvDim = s.numKvHeads * s.headDim;
    const poolLen = numBlocks * kvDim * blockSize;
    const kPool = randomArray(rand, poolLen, 2);
    const vPool = randomArray(rand, poolLen, 2);
    // Three sequences: one decoding at position 70, one prefilling positions 3..6 after a history
    // of 3, one decoding at position 90 with only 45 cache entries left (blocks evicted): rows
    // attend to their w keys, not to position + 1.
    const perm = Array.from({ length: numBlocks }, (_, i) => (i * 17 + 3) % numBlocks);
    const tableA = perm.slice(0, Math.ceil(71 / blockSize));
    const tableB = perm.slice(20, 20 + Math.ceil(7 / blockSize));
    const tableC = perm.slice(30, 30 + Math.ceil(45 / blockSize));
    const tables = Uint32Array.from([...tableA, ...tableB, ...tableC]);
    const rows = [
      { pos: 70, keys: 71, table: tableA, offset: 0 },
      ...[3, 4, 5, 6].map((pos) => ({ pos, keys: pos + 1, table: tableB, offset: tableA.length })),
      { pos: 90, keys: 45, table: tableC, offset: tableA.length + tableB.length },
    ];
    const stride = (s.numHeads + 2 * s.numKvHeads) * s.headDim;
    const qkv = randomArray(rand, rows.length * stride, 2);
    const meta = new Uint32Array(rows.flatMap((r) => [r.pos, r.offset, 0, r.keys]));
    const qDim = s.numHeads * s.headDim;
    const out = empty(device, rows.length * qDim);
    const pools = { k: [upload(device, kPool)], v: [upload(device, vPool)] };
    if (gd) {
      // 16 keys per item: the 71- and 45-key rows take several items and the reduce pass.
      const io = { rowMeta: upload(device, meta), tables: upload(device, tables), qkv: upload(device, qkv), att: out };
      const plan = await flashAttention(gd, s, { rowMeta: meta, tables, chunkRows: [1, 4, 1] }, io, pools, 16);
      expect(plan.reduceRows).toEqual([0, 5]);
    } else {
      await dispatch(
        device,
        attentionPipeline(device, s),
        [rowsUniform(device, rows.length), upload(device, meta), upload(device, tables), upload(device, qkv), pools.k[0], pools.v[0], out],
        grid64(rows.length * s.numHeads, MAX),
      );
    }
    const got = await readF32(device, out, rows.length * qDim);
    const want = new Float32Array(rows.length * qDim);
    const group = s.numHeads / s.numKvHeads;
    rows.forEach((r, ri) => {
      for (let h = 0; h < s.numHeads; h++) {
        const kvh = Math.floor(h / group);
        const scores: number[] = [];
        for (let p = 0; p < r.keys; p++) {
          const slot = r.table[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
          const ko = poolOffset(s, slot, kvh);
          let d = 0;
          for (let i = 0; i < s.headDim; i++) d += qkv[ri * stride + h * s.headDim + i] * kPool[ko + i];
          scores.push(d / Math.sqrt(s.headDim));
        }
        const max = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - max));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < s.headDim; i++) {
          let acc = 0;
          for (let p = 0; p < r.keys; p++) {
            const slot = r.table[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
            acc += e[p] * vPool[poolOffset(s, slot, kvh) + i];
          }
          want[ri * qDim + h * s.headDim + i] = acc / sum;
        }
      }
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });
});

describe('silu_mul', () => {
  it('computes silu(gate) * up from the stacked gate|up rows', async () => {
    const ffn = 172;
    const rows = 3;
    const gu = randomArray(prng(3), rows * 2 * ffn, 6);
    const h = empty(device, rows * ffn);
    await dispatch(device, siluMulPipeline(device, ffn), [rowsUniform(device, rows), upload(device, gu), h], grid64(rows * ffn, MAX));
    const got = await readF32(device, h, rows * ffn);
    const want = new Float32Array(rows * ffn);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < ffn; f++) {
        const g = gu[r * 2 * ffn + f];
        want[r * ffn + f] = (g / (1 + Math.exp(-g))) * gu[r * 2 * ffn + ffn + f];
      }
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });
});

describe('greedy rows of the sample kernel (temperature 0)', () => {
  it.each([1, 4, 64])('pick the largest logit per row, ties to the lowest index; a row with NaN or Inf gives NON_FINITE_ID (%i lanes per row)', async (lanes) => {
    const vocab = 300;
    const rand = prng(4);
    const rows = [randomArray(rand, vocab), randomArray(rand, vocab), new Float32Array(vocab).fill(-Infinity), randomArray(rand, vocab), randomArray(rand, vocab), randomArray(rand, vocab)];
    rows[1][7] = 5;
    rows[1][250] = 5; // a tie: index 7 wins
    rows[3][0] = NaN;
    rows[3][299] = 9;
    rows[4][123] = Infinity;
    rows[5][299] = NaN; // in the last lane's slice
    const logits = new Float32Array(rows.length * vocab);
    rows.forEach((r, i) => logits.set(r, i * vocab));
    const ids = empty(device, rows.length);
    const grid: [number, number] = [Math.ceil(rows.length / (64 / lanes)), 1];
    const greedy = new Float32Array(rows.length * 4).map((_, i) => (i % 4 === 2 ? 1 : 0)); // { temperature 0, top_k 0, top_p 1, u 0 }
    await dispatch(device, samplePipeline(device, vocab, lanes), [rowsUniform(device, rows.length), upload(device, logits), upload(device, greedy), ids], grid);
    const got = Array.from(await readU32(device, ids, rows.length));
    expect(got).toEqual([argmax(rows[0]), 7, NON_FINITE_ID, NON_FINITE_ID, NON_FINITE_ID, NON_FINITE_ID]);
  });
});

describe('copy_blocks', () => {
  it('copies whole blocks inside a pool', async () => {
    const blockElems = 4 * 16 * 8;
    const numBlocks = 5;
    const pool = randomArray(prng(6), numBlocks * blockElems);
    const buf = upload(device, pool);
    const pairs = Uint32Array.of(1, 3, 0, 4);
    await dispatch(device, copyBlocksPipeline(device, blockElems), [rowsUniform(device, 2), upload(device, pairs), buf], grid64(2 * blockElems, MAX));
    const want = pool.slice();
    want.copyWithin(3 * blockElems, 1 * blockElems, 2 * blockElems);
    want.copyWithin(4 * blockElems, 0, blockElems);
    expect(await readF32(device, buf, pool.length)).toEqual(want);
  });
});
