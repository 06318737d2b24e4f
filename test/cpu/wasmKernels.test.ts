import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matvec, rmsnorm, silu } from '../../src/cpu/ops.ts';
import { applyRope } from '../../src/cpu/rope.ts';
import { generatedSource } from '../../src/cpu/wasm/assemble.ts';
import { F16_TABLE_BYTES, instantiateKernels, type KernelExports, matmulOf } from '../../src/cpu/wasm/kernels.ts';
import { dequantize, f16Table, FORMATS, quantize } from '../../src/quant/index.ts';
import type { KernelFormat } from '../../src/cpu/wasm/wat/decoders.ts';
import { placeRowQuads } from '../../src/cpu/wasm/rowQuads.ts';

/** The kernels over a fresh 16 MiB memory, the f16 table at 0 and free space after it. */
async function kernels(): Promise<{ k: KernelExports; mem: WebAssembly.Memory; free: number }> {
  const mem = new WebAssembly.Memory({ initial: 256, maximum: 256 });
  return { k: await instantiateKernels(mem, 0), mem, free: F16_TABLE_BYTES };
}

const GGML: Record<KernelFormat, 'F32' | 'F16' | 'Q8_0' | 'Q4_0'> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0' };

describe('WebAssembly kernels', () => {
  it('kernels.generated.ts is what src/cpu/wasm/assemble.ts makes of wat/ today (rerun it after editing wat/)', async () => {
    expect(readFileSync(new URL('../../src/cpu/wasm/kernels.generated.ts', import.meta.url), 'utf8')).toBe(await generatedSource());
  });

  it.each(['f32', 'f16', 'q8_0', 'q4_0'] as const)('matmul_%s: rows [r0, r1) of y = W x for n activation rows (W in quads of rows), as dequantize + matvec computes them; nothing else written', async (format) => {
    const { k, mem, free } = await kernels();
    // f32 and f16 in 12-column steps: up to 108 columns, more than one of chunked.ts's 64-column chunks
    const block = format.startsWith('q') ? 32 : 12;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 2 ** 31 }), async (rows, blocks, n, seed) => {
        const cols = blocks * block;
        let s = seed;
        const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        const values = Float32Array.from({ length: rows * cols }, rand);
        const bytes = quantize(GGML[format], values);
        const w = dequantize(GGML[format], bytes, rows * cols);
        const x = Float32Array.from({ length: n * cols }, rand);
        const r0 = Math.floor(rows / 3);
        const r1 = rows - Math.floor(rows / 4);
        const heap = new Uint8Array(mem.buffer);
        const f32 = new Float32Array(mem.buffer);
        const [wAt, xAt, yAt] = [free, free + 65536, free + 2 * 65536];
        heap.set(bytes, wAt);
        placeRowQuads(k, { at: wAt, format, rows, cols, rowBytes: bytes.length / rows }, yAt);
        f32.set(x, xAt / 4);
        f32.fill(12345, yAt / 4, yAt / 4 + n * rows);
        const rowBytes = (cols / FORMATS[GGML[format]].blockElems) * FORMATS[GGML[format]].blockBytes;
        const scratch = free + 3 * 65536;
        matmulOf(k, format)(wAt, rowBytes, xAt, yAt, rows, cols, n, r0, r1, scratch);
        // Each activation row alone (whole tiles, never chunked) gives the same bits as in the batch.
        const batched = f32.slice(yAt / 4, yAt / 4 + n * rows);
        const soloAt = free + 4 * 65536;
        for (let b = 0; b < n; b++) {
          matmulOf(k, format)(wAt, rowBytes, xAt + b * cols * 4, soloAt, rows, cols, 1, r0, r1, scratch);
          expect(f32.slice(soloAt / 4 + r0, soloAt / 4 + r1)).toEqual(batched.slice(b * rows + r0, b * rows + r1));
        }
        const want = new Float32Array(rows);
        for (let b = 0; b < n; b++) {
          matvec(want, w, x.subarray(b * cols, (b + 1) * cols), rows, cols);
          for (let r = 0; r < rows; r++) {
            const got = f32[yAt / 4 + b * rows + r];
            if (r < r0 || r >= r1) expect(got).toBe(12345);
            else expect(Math.abs(got - want[r])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[r])) * Math.sqrt(cols));
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('matmul_f16 decodes every one of the 65536 f16 patterns as src/quant does (subnormals, inf, NaN)', async () => {
    const { k, mem, free } = await kernels();
    const u16 = new Uint16Array(mem.buffer, free, 65536 * 4);
    for (let h = 0; h < 65536; h++) u16[h * 4] = h; // row h: [h, 0, 0, 0]
    const xAt = free + 65536 * 8;
    const yAt = xAt + 16;
    new Float32Array(mem.buffer, xAt, 4).set([1, 0, 0, 0]);
    k.matmul_f16(free, 8, xAt, yAt, 65536, 4, 1, 0, 65536, 0); // one activation row: no scratch used
    const y = new Float32Array(mem.buffer, yAt, 65536);
    const table = f16Table();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      // -0 sums to +0: === equates them
      if (Number.isNaN(table[h]) ? !Number.isNaN(y[h]) : y[h] !== table[h]) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('swiglu (f32x4 exp) is ops.ts silu * up within 2^-21 relative over extreme gates: 0 below f32 range, g above it, NaN kept, n % 4 tail', async () => {
    const { k, mem, free } = await kernels();
    const f32 = new Float32Array(mem.buffer);
    const extremes = [-1e30, -200, -104.5, -103.9, -89, -88.8, -88.7, -87.4, -50, -1, -1e-30, -0, 0, 1e-30, 1, 50, 87.4, 88.8, 89, 104, 200, 1e30, NaN, Infinity, -Infinity];
    const gate = Float32Array.from([...extremes, ...Array.from({ length: 1002 }, (_, i) => (i - 501) * 0.2371)]); // 1027 = 4 * 256 + 3
    const up = Float32Array.from(gate, (_, i) => (i % 3 === 0 ? 1 : Math.cos(i)));
    const [gAt, uAt] = [free, free + 8192];
    f32.set(gate, gAt / 4);
    f32.set(up, uAt / 4);
    f32[gAt / 4 + gate.length] = 777;
    k.swiglu(gAt, uAt, gate.length);
    expect(f32[gAt / 4 + gate.length]).toBe(777);
    gate.forEach((g, i) => {
      const want = Math.fround(silu(g) * up[i]);
      const got = f32[gAt / 4 + i];
      if (Number.isNaN(want)) expect(got, `g = ${g}`).toBeNaN();
      else if (!Number.isFinite(want)) expect(got, `g = ${g}`).toBe(want);
      // 2^-120 (7.5e-37): where e^-g overflows f32 (g < -88.7) the kernel gives -0, the oracle's f64 at most 2.7e-37
      else expect(Math.abs(got - want), `g = ${g}`).toBeLessThanOrEqual(Math.abs(want) * 2 ** -21 + 2 ** -120);
    });
  });

  it('attention matches the oracle\'s f64 softmax within 2e-6 of max |v|: 4-key and single-key score paths, 8/4/1-vector output passes, grouped heads, scrambled blocks', async () => {
    const { k, mem, free } = await kernels();
    const f32 = new Float32Array(mem.buffer);
    const i32 = new Int32Array(mem.buffer);
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    // [headDim, blockSize, nKeys, numHeads, numKvHeads, amplitude of q and k]
    for (const [hd, bs, nKeys, nh, nkv, amp] of [[64, 16, 74, 9, 3, 2], [48, 5, 23, 4, 4, 3], [12, 4, 1, 2, 1, 1], [8, 3, 11, 8, 2, 2]]) {
      const blocks = Math.ceil(nKeys / bs) + 2;
      const poolFloats = blocks * nkv * bs * hd;
      const table = Array.from({ length: Math.ceil(nKeys / bs) }, (_, b) => (b * 5 + 1) % blocks);
      const q = Float32Array.from({ length: nh * hd }, () => rand() * amp);
      const K = Float32Array.from({ length: poolFloats }, () => rand() * amp);
      const V = Float32Array.from({ length: poolFloats }, rand);
      const qAt = free;
      const oAt = qAt + nh * hd * 4;
      const kAt = oAt + nh * hd * 4;
      const vAt = kAt + poolFloats * 4;
      const tAt = vAt + poolFloats * 4;
      const sAt = tAt + table.length * 4;
      f32.set(q, qAt / 4);
      f32.set(K, kAt / 4);
      f32.set(V, vAt / 4);
      i32.set(table, tAt / 4);
      const scale = 1 / Math.sqrt(hd);
      k.attention(qAt, oAt, kAt, vAt, tAt, nKeys, bs, nkv, hd, nh, sAt, scale);
      for (let h = 0; h < nh; h++) {
        const off = (e: number): number => ((table[Math.floor(e / bs)] * nkv + Math.floor(h / (nh / nkv))) * bs + (e % bs)) * hd;
        const p = Array.from({ length: nKeys }, (_, e) => q.subarray(h * hd, (h + 1) * hd).reduce((d, x, i) => d + x * K[off(e) + i], 0) * scale);
        const max = Math.max(...p);
        const w = p.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) {
          const want = w.reduce((a, x, e) => a + x * V[off(e) + i], 0) / sum;
          expect(Math.abs(f32[oAt / 4 + h * hd + i] - want), `hd ${hd} head ${h} dim ${i}`).toBeLessThanOrEqual(2e-6);
        }
      }
    }
  });

  it('rmsnorm, rope and add round as ops.ts and rope.ts do; swiglu within 2^-21 of f32', async () => {
    const { k, mem, free } = await kernels();
    const f32 = new Float32Array(mem.buffer);
    const f64 = new Float64Array(mem.buffer);
    const n = 72;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);
    const w = Float32Array.from({ length: n }, (_, i) => 1 + Math.cos(i) / 10);
    const [xAt, wAt, oAt, tAt] = [free, free + 4096, free + 8192, free + 12288];
    f32.set(x, xAt / 4);
    f32.set(w, wAt / 4);
    k.rmsnorm(xAt, wAt, oAt, n, 1e-5);
    const want = new Float32Array(n);
    rmsnorm(want, x, w, 1e-5);
    expect(f32.slice(oAt / 4, oAt / 4 + n)).toEqual(want);
    k.rmsnorm(xAt, wAt, oAt, n - 3, 1e-5); // a tail past the last whole vector
    rmsnorm(want.subarray(0, n - 3), x.subarray(0, n - 3), w.subarray(0, n - 3), 1e-5);
    expect(f32.slice(oAt / 4, oAt / 4 + n - 3)).toEqual(want.subarray(0, n - 3));

    // RoPE: 3 heads of 24 at position 37.
    const inv = Float64Array.from({ length: 12 }, (_, i) => 1 / Math.pow(10000, (2 * i) / 24));
    for (let i = 0; i < 12; i++) {
      f64[tAt / 8 + i] = Math.cos(37 * inv[i]);
      f64[tAt / 8 + 12 + i] = Math.sin(37 * inv[i]);
    }
    k.rope(xAt, 3, 24, tAt, tAt + 96);
    const rotated = x.slice();
    applyRope(rotated, 3, 24, 37, inv);
    expect(f32.slice(xAt / 4, xAt / 4 + n)).toEqual(rotated);

    f32.set(x, xAt / 4);
    k.add(xAt, wAt, n - 1); // a tail past the last whole vector, and the element after it untouched
    expect(f32.slice(xAt / 4, xAt / 4 + n)).toEqual(Float32Array.from(x, (v, i) => (i < n - 1 ? Math.fround(v + w[i]) : v)));

    const gate = Float32Array.from({ length: n }, (_, i) => (i - 36) * 1.3);
    f32.set(gate, xAt / 4);
    k.swiglu(xAt, wAt, n);
    gate.forEach((g, i) => expect(Math.abs(f32[xAt / 4 + i] - silu(g) * w[i])).toBeLessThanOrEqual(Math.abs(silu(g) * w[i]) * 2 ** -21));
  });
});
