import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matvec, rmsnorm, silu } from '../../src/cpu/ops.ts';
import { applyRope } from '../../src/cpu/rope.ts';
import { generatedSource } from '../../src/cpu/wasm/assemble.ts';
import { F16_TABLE_BYTES, instantiateKernels, type KernelExports, matmulOf } from '../../src/cpu/wasm/kernels.ts';
import { dequantize, f16Table, FORMATS, quantize } from '../../src/quant/index.ts';
import type { KernelFormat } from '../../src/cpu/wasm/wat/matmul.ts';
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
    const block = format.startsWith('q') ? 32 : 4;
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
        matmulOf(k, format)(wAt, (cols / FORMATS[GGML[format]].blockElems) * FORMATS[GGML[format]].blockBytes, xAt, yAt, rows, cols, n, r0, r1);
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
    k.matmul_f16(free, 8, xAt, yAt, 65536, 4, 1, 0, 65536);
    const y = new Float32Array(mem.buffer, yAt, 65536);
    const table = f16Table();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      // -0 sums to +0: === equates them
      if (Number.isNaN(table[h]) ? !Number.isNaN(y[h]) : y[h] !== table[h]) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('exp is Math.exp to ~1 ulp, with 0 and inf past f64 range and NaN kept', async () => {
    const { k } = await kernels();
    for (let i = 0; i <= 4000; i++) {
      const x = -740 + i * 0.3617;
      expect(Math.abs(k.exp(x) - Math.exp(x))).toBeLessThanOrEqual(4e-16 * Math.exp(x));
    }
    expect(k.exp(-1e6)).toBe(0);
    expect(k.exp(710)).toBe(Infinity);
    expect(k.exp(Number.NaN)).toBeNaN();
    expect(k.exp(0)).toBe(1);
  });

  it('rmsnorm, rope and add round as ops.ts and rope.ts do; swiglu within an ulp of f32', async () => {
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
    gate.forEach((g, i) => expect(Math.abs(f32[xAt / 4 + i] - silu(g) * w[i])).toBeLessThanOrEqual(Math.abs(silu(g) * w[i]) * 2 ** -23));
  });
});
