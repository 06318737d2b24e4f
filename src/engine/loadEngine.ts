import { createCpuBackend, type CpuOptions } from '../cpu/cpuKernels.ts';
import { DeviceLostError, TokenizerError } from '../errors.ts';
import { type KvSizeOptions, planKvCache } from '../kv/KvPlan.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import type { LoadProgress } from '../model/loadModel.ts';
import type { ModelConfig } from '../model/config.ts';
import { type AutoLimits, pickWeights, type WeightsChoice, weightsChoice, type WeightsOption } from '../quant/quantizeModel.ts';
import type { ModelSource } from '../model/ModelSource.ts';
import { weightSummary } from '../model/weightSummary.ts';
import type { ModelWeights } from '../model/weights.ts';
import type { AdmissionReserve } from '../scheduler/reserve.ts';
import { type KvDefaults, kvDefaultsOf } from './kvRequest.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { KvBlockStore } from '../storage/KvBlockStore.ts';
import type { KernelsOption } from '../gpu/kernelSet.ts';
import { Engine } from './Engine.ts';
import type { ForwardBackend } from './ForwardBackend.ts';
import { engineSpeculation, type EngineSpeculativeOption } from '../speculative/draftModelLoad.ts';

/**
 * The paged KV cache as createEngine takes it: its size, and the reserve of free blocks that
 * admission keeps for running sequences, and its backfill (`{ lookaheadSteps: 0, poolFraction: 0 }`: none, strict FIFO).
 */
export type KvOptions = KvSizeOptions & { reserve?: AdmissionReserve } & KvDefaults;

export interface LoadEngineOptions {
  source: ModelSource;
  backend: 'webgpu' | 'cpu';
  kv?: KvOptions;
  /** navigator.gpu in a browser; Dawn's GPU object in Node tests. */
  gpu?: GPU;
  onProgress?: (p: LoadProgress) => void;
  maxBatchTokens?: number;
  /** Persist prefix-KV blocks here (IndexedDB in a browser). */
  prefixStore?: KvBlockStore;
  /** Prompts that must contain a block before it is persisted; 2 by default. */
  persistAfterHits?: number;
  onWarning?: (message: string) => void;
  /**
   * A safetensors model's 2-D weights quantized on load ('f32' by default: none); 'auto' picks
   * by the adapter's limits (pickWeights; f32 on the CPU). A GGUF file keeps its own formats.
   */
  weights?: WeightsChoice;
  /** Told what a safetensors model was loaded as, and why when 'auto' picked it. */
  onWeights?: (picked: { option: WeightsOption; reason: string }) => void;
  /** WebGPU's kernel set: 'auto' (default) picks by the adapter (src/gpu/kernelSet.ts). */
  kernels?: KernelsOption;
  /** The CPU backend's kernels (src/cpu/cpuKernels.ts): WebAssembly SIMD by default, or 'js'. */
  cpu?: CpuOptions;
  /** Speculative decoding: every request's default `{ method, k }`, and `draftModel` (+ `draftWeights`) loaded beside the model (src/speculative/draftModelLoad.ts). */
  speculative?: EngineSpeculativeOption;
}

/** Loads a model and builds an engine on the chosen backend. */
export async function loadEngine(opts: LoadEngineOptions): Promise<Engine> {
  const choice = weightsChoice(opts.weights ?? 'f32'); // refused before anything is fetched
  const speculation = engineSpeculation(opts.speculative);
  const limits = choice === 'auto' && opts.backend === 'webgpu' ? await adapterLimits(opts.gpu) : null;
  let picked: WeightsOption | undefined;
  const pick = (config: ModelConfig): WeightsOption => {
    const p = choice === 'auto' ? pickWeights(config, limits) : { option: choice, reason: 'as asked' };
    opts.onWeights?.(p);
    return (picked = p.option);
  };
  const { weights, tokenizerJson, tokenizerConfig } = await loadAnyModel(opts.source, { onProgress: opts.onProgress, weights: pick });
  // The same class as the CLI's for the same folder: a tokenizer problem, whichever way the model came.
  if (!tokenizerJson) throw new TokenizerError(`${opts.source.describe()} has no tokenizer.json`);
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: weights.config.eosTokenIds, modelVocabSize: weights.config.vocabSize });
  // Planned here for both backends; WebGPU plans again within its adapter's buffer limits.
  const { blockSize, numBlocks } = planKvCache(weights.config, opts.kv ?? {});
  const draftLimits = opts.speculative?.draftWeights === 'auto' && opts.backend === 'webgpu' ? (limits ?? (await adapterLimits(opts.gpu))) : null;
  const { drafters, speculative } = await speculation.load({ ...opts, name: opts.source.describe(), config: weights.config, tokenizerJson, blockSize, numBlocks, kvBudgetBytes: opts.kv?.memoryBudgetBytes, limits: draftLimits });
  const summary = weightSummary(weights);
  let deviceBytes = summary.f32Bytes;
  let backend: ForwardBackend;
  let adapter = 'CPU (TypeScript reference)';
  let rebuildBackend: (() => Promise<ForwardBackend>) | undefined;
  if (opts.backend === 'webgpu') {
    const { GpuBackend } = await import('../gpu/GpuBackend.ts');
    const gpuOpts = { blockSize, numBlocks: opts.kv?.maxBlocks, memoryBudgetBytes: opts.kv?.memoryBudgetBytes, gpu: opts.gpu, kernels: opts.kernels };
    const gpu = await GpuBackend.create(weights, gpuOpts);
    adapter = `${gpu.gpu.cpuAdapter ? 'WebGPU on a CPU adapter (SwiftShader)' : 'WebGPU'}, ${gpu.kernelsDescription}`;
    backend = gpu;
    deviceBytes = gpu.weightBytes;
    rebuildBackend = gpuRebuilder(opts.source, picked, weights.fingerprint, (w) => GpuBackend.create(w, gpuOpts));
  } else {
    ({ backend, description: adapter, weightBytes: deviceBytes } = await createCpuBackend(weights, { blockSize, numBlocks }, opts.cpu));
  }
  return new Engine(backend, tokenizer, {
    modelName: opts.source.describe(),
    fingerprint: weights.fingerprint,
    maxBatchTokens: opts.maxBatchTokens,
    reserve: opts.kv?.reserve,
    kv: kvDefaultsOf(opts.kv, blockSize),
    weights: { formats: summary.formats, deviceBytes },
    adapter,
    prefixStore: opts.prefixStore,
    persistAfterHits: opts.persistAfterHits,
    onWarning: opts.onWarning,
    rebuildBackend,
    drafters,
    speculative,
  });
}

/**
 * The limits 'auto' weighs: the adapter's, or WebGPU's defaults (128 MiB per binding, 256 MiB per
 * buffer) when there is no adapter to ask (GpuBackend then says why).
 */
export async function adapterLimits(gpu: GPU | undefined): Promise<AutoLimits> {
  const defaults = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 };
  const adapter = await (gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu)?.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  return adapter ? { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } : defaults;
}

/**
 * After a lost device: the weights again from the same source (in a browser the
 * IndexedDB-cached one, so no network), rather than a CPU copy of every weight kept alive for a
 * rare event. A function of its own, so that its closure holds the source and not the weights.
 */
function gpuRebuilder(source: ModelSource, format: WeightsOption | undefined, fingerprint: string, create: (w: ModelWeights) => Promise<ForwardBackend>): () => Promise<ForwardBackend> {
  return async () => {
    const { weights } = await loadAnyModel(source, { weights: format });
    if (weights.fingerprint !== fingerprint) throw new DeviceLostError(`${source.describe()} changed since it was loaded`);
    return create(weights);
  };
}
