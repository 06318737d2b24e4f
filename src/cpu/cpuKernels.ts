import { ContentSecurityPolicyError, InvalidParamsError, ModelTooLargeError } from '../errors.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import type { ModelWeights } from '../model/weights.ts';
import { weightSummary } from '../model/weightSummary.ts';
import { CpuBackend } from './CpuBackend.ts';
import { WasmCpuBackend } from './wasm/WasmCpuBackend.ts';

/**
 * The CPU backend's kernels: 'wasm' (WebAssembly SIMD, src/cpu/wasm/) or 'js' (the TypeScript
 * reference, src/cpu/CpuBackend.ts, the oracle the WebAssembly path is tested against).
 */
export type CpuKernels = 'wasm' | 'js';
export const CPU_KERNELS: readonly CpuKernels[] = ['wasm', 'js'];

/** createEngine's and loadEngine's `cpu` option. */
export interface CpuOptions {
  /** Default: 'wasm', falling back to 'js' (and saying why in info.adapter) where WebAssembly cannot run the model. */
  kernels?: CpuKernels;
  /**
   * WebAssembly matmul threads (workers over a SharedArrayBuffer memory). Default: in a cross-origin
   * isolated page, the cores up to 8; elsewhere 1, and info.adapter says why.
   */
  threads?: number;
}

/** `cpu.threads` as a caller gave it: undefined or an integer from 1 to 64. */
export function cpuThreadsOption(v: unknown): number | undefined {
  if (v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 64)) return v as number | undefined;
  throw new InvalidParamsError('cpu.threads', `must be an integer from 1 to 64, got ${JSON.stringify(v)}`);
}

/** `cpu.kernels` as a caller gave it; anything else is refused by name. */
export function cpuKernelsOption(v: unknown): CpuKernels | undefined {
  if (v === undefined || (typeof v === 'string' && (CPU_KERNELS as readonly string[]).includes(v))) return v as CpuKernels | undefined;
  throw new InvalidParamsError('cpu.kernels', `must be one of ${CPU_KERNELS.join(', ')}, got ${JSON.stringify(v)}`);
}

export interface CpuBackendChoice {
  backend: ForwardBackend;
  kernels: CpuKernels;
  /** For info.adapter: "CPU (WebAssembly SIMD, 1 thread)", or the TypeScript kernels and why. */
  description: string;
  /** Bytes the backend holds its weights in: packed where the WebAssembly kernels read the format, f32 otherwise (stats().weights.deviceBytes). */
  weightBytes: number;
}

/**
 * Builds the CPU backend. Asked for 'wasm' explicitly, a model or page it cannot serve is refused
 * with a typed error; by default it falls back to the TypeScript kernels and the description says why.
 */
export async function createCpuBackend(weights: ModelWeights, kv: { blockSize: number; numBlocks: number }, opts: CpuOptions = {}): Promise<CpuBackendChoice> {
  const asked = cpuKernelsOption(opts.kernels);
  cpuThreadsOption(opts.threads);
  if (asked === 'js') return { backend: new CpuBackend(weights, kv), kernels: 'js', description: 'CPU (TypeScript kernels, as asked)', weightBytes: weightSummary(weights).f32Bytes };
  try {
    const backend = await WasmCpuBackend.create(weights, { ...kv, threads: opts.threads });
    return { backend, kernels: 'wasm', description: `CPU (WebAssembly ${backend.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD'}, ${backend.threadsDescription}; ${[...backend.formats].join(', ')} weights)`, weightBytes: backend.weightBytes };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (asked === 'wasm') throw refusal(e, why);
    return { backend: new CpuBackend(weights, kv), kernels: 'js', description: `CPU (TypeScript kernels: ${why})`, weightBytes: weightSummary(weights).f32Bytes };
  }
}

/** The typed error for an explicit 'wasm' that cannot run. */
function refusal(e: unknown, why: string): Error {
  if (e instanceof ModelTooLargeError) return e;
  if (e instanceof WebAssembly.CompileError || /Content Security Policy|wasm-unsafe-eval|wasm-eval/i.test(why)) {
    return new ContentSecurityPolicyError('script-src', `the CPU backend's WebAssembly kernels could not be compiled (${why}); allow 'wasm-unsafe-eval' in script-src, or pass cpu: { kernels: 'js' }`);
  }
  return new InvalidParamsError('cpu.kernels', `'wasm' cannot run this model: ${why}; pass 'js'`);
}
