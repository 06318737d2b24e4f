import type { KernelSet } from '../../src/gpu/kernelSet.ts';

/** Both kernel sets: GPU tests that take `kernels` run once per set (describe.each / it.each). */
export const KERNEL_SETS: readonly KernelSet[] = ['fallback', 'gpu'];

/**
 * Both sets, and the 'gpu' set in the shapes a real GPU runs (GpuBackendOptions.gpuShapes: fused
 * norms, 64-lane GEMV, tiled GEMM, GPU attention layout), which SwiftShader runs slowly: arms that
 * take it keep their model and token counts small.
 */
export const KERNEL_ARMS: ReadonlyArray<{ name: string; kernels: KernelSet; gpuShapes: boolean }> = [
  ...KERNEL_SETS.map((kernels) => ({ name: `${kernels} kernels`, kernels, gpuShapes: false })),
  { name: 'gpu kernels in real-GPU shapes', kernels: 'gpu', gpuShapes: true },
];
