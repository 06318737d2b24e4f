import { InvalidParamsError } from '../errors.ts';

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

/** Which set runs and why, in a phrase for `info` and the CLI: "gpu kernels (auto: a GPU adapter)". */
export function describeKernelSet(option: KernelsOption, cpuAdapter: boolean): string {
  const set = chooseKernelSet(option, cpuAdapter);
  const why = option === 'auto' ? `auto: ${cpuAdapter ? 'a CPU adapter' : 'a GPU adapter'}` : 'as asked';
  return `${set} kernels (${why})`;
}

/** The `kernels` option as given by a caller or the CLI's `--kernels`; refuses anything else by name. */
export function kernelsOption(v: unknown, param = 'kernels'): KernelsOption {
  if (v === undefined) return 'auto';
  if (typeof v === 'string' && (KERNELS_OPTIONS as readonly string[]).includes(v)) return v as KernelsOption;
  throw new InvalidParamsError(param, `must be one of ${KERNELS_OPTIONS.join(', ')}, got ${JSON.stringify(v)}`);
}
