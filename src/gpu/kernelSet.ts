/**
 * Which shape of kernels a device gets. 'fallback' suits CPU adapters (SwiftShader), where a
 * barrier costs tens of microseconds and a few long-running invocations are cheap; 'gpu' suits
 * real GPUs, where occupancy and coalesced reads decide the speed. Both compute the same model,
 * so both are tested on SwiftShader; 'auto' picks by the adapter.
 */
export type KernelSet = 'gpu' | 'fallback';
export type KernelsOption = 'auto' | KernelSet;

export const KERNELS_OPTIONS: readonly KernelsOption[] = ['auto', 'gpu', 'fallback'];

export function chooseKernelSet(option: KernelsOption, cpuAdapter: boolean): KernelSet {
  if (option !== 'auto') return option;
  return cpuAdapter ? 'fallback' : 'gpu';
}
