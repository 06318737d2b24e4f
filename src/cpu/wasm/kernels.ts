import { f16Table } from '../../quant/half.ts';
import { KERNELS_RELAXED_SHARED_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64, KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels.generated.ts';
import type { KernelFormat } from './wat/decoders.ts';

type Matmul = (w: number, rowBytes: number, x: number, y: number, rows: number, cols: number, n: number, r0: number, r1: number, scratch: number) => void;

/** The exports of the kernel module (wat/module.ts); every address is a byte offset into `memory`. */
export interface KernelExports {
  rmsnorm(x: number, w: number, out: number, n: number, eps: number): void;
  add(dst: number, src: number, n: number): void;
  swiglu(gate: number, up: number, n: number): void;
  rope(x: number, heads: number, headDim: number, cos: number, sin: number): void;
  dequant_f16(src: number, dst: number, n: number): void;
  dequant_q8_0(src: number, dst: number, n: number): void;
  dequant_q4_0(src: number, dst: number, n: number): void;
  attention(q: number, out: number, kPool: number, vPool: number, table: number, nKeys: number, blockSize: number, numKvHeads: number, headDim: number, numHeads: number, scores: number, scale: number): void;
  matmul_f32: Matmul;
  matmul_f16: Matmul;
  matmul_q8_0: Matmul;
  matmul_q4_0: Matmul;
  /** Rearranges a row-major tensor at `at` into the matmuls' quad layout in place (wat/placeQuads.ts). */
  place_quads_f32(at: number, rows: number, rowBytes: number, scratch: number): void;
  place_quads_f16(at: number, rows: number, rowBytes: number, scratch: number): void;
  place_quads_q8_0(at: number, rows: number, rowBytes: number, scratch: number): void;
  place_quads_q4_0(at: number, rows: number, rowBytes: number, scratch: number): void;
  f16tab: WebAssembly.Global;
}

export const PAGE = 65536;
/** wasm32's ceiling: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
/** Bytes of the f16 -> f32 table every kernel that reads an f16 scale uses. */
export const F16_TABLE_BYTES = 65536 * 4;

let compiled: Record<string, Promise<WebAssembly.Module>> = {};

/** Which SIMD the kernel module uses: 'relaxed' adds f32x4.relaxed_madd to the matmuls. */
export type SimdKind = 'plain' | 'relaxed';

/**
 * A tiny module, (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd), assembled by wabt:
 * an engine that validates it runs the relaxed variant (Chrome 114 and later; Node 20 only with
 * --experimental-wasm-relaxed-simd).
 */
const RELAXED_PROBE = '0061736d0100000001080160037b7b7b017b03020100070501016600000a0d010b00200020012002fd85020b';

/** Whether this engine has relaxed SIMD: validating 44 bytes takes microseconds, once per backend. */
export function relaxedSimdAvailable(): boolean {
  const probe = new Uint8Array(RELAXED_PROBE.length / 2);
  for (let i = 0; i < probe.length; i++) probe[i] = parseInt(RELAXED_PROBE.slice(2 * i, 2 * i + 2), 16);
  try {
    return typeof WebAssembly !== 'undefined' && WebAssembly.validate(probe);
  } catch {
    return false;
  }
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The compiled kernel module, once per realm. Rejects where WebAssembly (or its SIMD) is missing, or
 * where a Content-Security-Policy forbids compiling it (no 'wasm-unsafe-eval'): callers fall back to
 * the TypeScript kernels and say why.
 */
export function compileKernels(shared: boolean, simd: SimdKind = 'plain'): Promise<WebAssembly.Module> {
  const key = `${simd}-${shared ? 'shared' : 'own'}`;
  const cached = compiled[key];
  if (cached) return cached;
  const p = (async () => {
    if (typeof WebAssembly === 'undefined') throw new Error('this JavaScript engine has no WebAssembly');
    const relaxed = simd === 'relaxed';
    return WebAssembly.compile(decodeBase64(relaxed ? (shared ? KERNELS_RELAXED_SHARED_WASM_BASE64 : KERNELS_RELAXED_WASM_BASE64) : shared ? KERNELS_SHARED_WASM_BASE64 : KERNELS_WASM_BASE64));
  })();
  compiled[key] = p;
  p.catch(() => (compiled = {}));
  return p;
}

/** Instantiates the kernels over `memory` (shared: the module that imports a shared memory) and writes the f16 table at `f16tab`. */
export async function instantiateKernels(memory: WebAssembly.Memory, f16tab: number, shared = false, simd: SimdKind = 'plain'): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(await compileKernels(shared, simd), { env: { memory } });
  const k = instance.exports as unknown as KernelExports;
  new Float32Array(memory.buffer, f16tab, 65536).set(f16Table());
  k.f16tab.value = f16tab;
  return k;
}

export function matmulOf(k: KernelExports, format: KernelFormat): Matmul {
  return k[`matmul_${format}`];
}
