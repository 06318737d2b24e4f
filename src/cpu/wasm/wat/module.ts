import { attentionWat } from './attention.ts';
import { elementwiseWat } from './elementwise.ts';
import type { KernelFormat } from './decoders.ts';
import { matmulWat } from './matmul.ts';
import { placeQuadsWat } from './placeQuads.ts';

/** The formats with a matmul kernel; every other format is widened to f32 at load (src/cpu/wasm/placeWeights.ts). */
export const KERNEL_FORMATS: readonly KernelFormat[] = ['f32', 'f16', 'q8_0', 'q4_0'];

/**
 * The whole kernel module as WebAssembly text. Memory is imported (the backend sizes it for the model
 * and shares it between threads when `shared`); `f16tab` is the byte address of the 65536-entry f16 to
 * f32 table the backend writes into that memory, set by the host before any kernel runs. `relaxed`:
 * the matmuls multiply-add with relaxed SIMD (f32x4.relaxed_madd); the host picks that variant only
 * where the engine validates it (kernels.ts).
 */
export function moduleWat(opts: { shared: boolean; relaxed?: boolean }): string {
  return `(module
  (import "env" "memory" (memory 1 65536${opts.shared ? ' shared' : ''}))
  (global $f16tab (export "f16tab") (mut i32) (i32.const 0))
${elementwiseWat}
${attentionWat}
${KERNEL_FORMATS.map((f) => matmulWat(f, opts.relaxed ?? false) + placeQuadsWat(f)).join('\n')}
)`;
}
