import type { WeightsChoice } from '../quant/quantizeModel.ts';
import type { SamplingParams } from '../sampling/SamplingParams.ts';
import type { KvDefaults } from '../engine/kvRequest.ts';
import type { KernelsOption } from '../gpu/kernelSet.ts';
import type { CpuKernels } from '../cpu/cpuKernels.ts';
import type { SpeculativeOption } from '../speculative/speculativeParams.ts';
import type { SpeculativeCounts } from '../speculative/Speculation.ts';

/** What `folio generate` asks of a backend. */
export interface GenerateRequest {
  model: string;
  prompt: string;
  addBos: boolean;
  maxTokens: number;
  /** Generate past end-of-sequence tokens (as reference runs that compare ids do). */
  ignoreEos?: boolean;
  /** `--weights`: a safetensors model's 2-D weights quantized on load; 'f32' (none) by default; 'auto' by the adapter's limits. */
  weights?: WeightsChoice;
  /** `--kernels`: WebGPU's kernel set, 'auto' by the adapter (src/gpu/kernelSet.ts). */
  kernels?: KernelsOption;
  /** `--cpu-kernels`: the CPU backend's kernels, WebAssembly SIMD ('wasm', default) or the TypeScript reference ('js'). */
  cpuKernels?: CpuKernels;
  sampling: { [K in keyof SamplingParams]?: SamplingParams[K] | undefined };
  /** `--kv-budget`, `--kv-policy`, `--context-shift`: run under a KV budget (src/cli/generateUnderLimit.ts). */
  kv?: KvDefaults;
  /** `--json-schema` / `--grammar`: GBNF the continuation follows (src/cli/constraintOption.ts). */
  grammar?: string | null;
  /** `--speculative ngram [--speculative-k N]`: drafts verified in one forward each (src/cli/speculativeLoop.ts). */
  speculative?: SpeculativeOption;
  /** `--draft-model <dir|url|file.gguf>` (`--draft-weights F`): the drafter of `--speculative draft` (src/speculative/draftModelLoad.ts). */
  draftModel?: string;
  draftWeights?: WeightsChoice;
}

export interface GenerateResult {
  promptIds: number[];
  generatedIds: number[];
  /** The decoded prompt and continuation, as llama2.c prints it. */
  text: string;
  /** The continuation alone. */
  completion: string;
  /** With `kv`: the most KV tokens (whole blocks) held at any step, and the tokens evicted or shifted out. */
  kv?: { peakTokensHeld: number; evictedTokens: number };
  /** With `speculative`: drafted and accepted tokens, and the forwards that produced the output. */
  speculative?: SpeculativeCounts;
}
