import type { KernelSet } from '../../src/gpu/kernelSet.ts';

/** Both kernel sets: GPU tests that take `kernels` run once per set (describe.each / it.each). */
export const KERNEL_SETS: readonly KernelSet[] = ['fallback', 'gpu'];
