import { CpuBackend } from '../cpu/CpuBackend.ts';
import { DeviceLostError, TokenizerError } from '../errors.ts';
import { type KvSizeOptions, planKvCache } from '../kv/KvPlan.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import type { LoadProgress } from '../model/loadModel.ts';
import type { ModelSource } from '../model/ModelSource.ts';
import type { ModelWeights } from '../model/weights.ts';
import type { AdmissionReserve } from '../scheduler/reserve.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { KvBlockStore } from '../storage/KvBlockStore.ts';
import { Engine } from './Engine.ts';
import type { ForwardBackend } from './ForwardBackend.ts';

/**
 * The paged KV cache as createEngine takes it: its size, and the reserve of free blocks that
 * admission keeps for running sequences (`{ lookaheadSteps: 0, poolFraction: 0 }`: none).
 */
export type KvOptions = KvSizeOptions & { reserve?: AdmissionReserve };

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
}

/** Loads a model and builds an engine on the chosen backend. */
export async function loadEngine(opts: LoadEngineOptions): Promise<Engine> {
  const { weights, tokenizerJson, tokenizerConfig } = await loadAnyModel(opts.source, { onProgress: opts.onProgress });
  // The same class as the CLI's for the same folder: a tokenizer problem, whichever way the model came.
  if (!tokenizerJson) throw new TokenizerError(`${opts.source.describe()} has no tokenizer.json`);
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: weights.config.eosTokenIds, modelVocabSize: weights.config.vocabSize });
  // Planned here for both backends; WebGPU plans again within its adapter's buffer limits.
  const { blockSize, numBlocks } = planKvCache(weights.config, opts.kv ?? {});
  let backend: ForwardBackend;
  let adapter = 'CPU (TypeScript reference)';
  let rebuildBackend: (() => Promise<ForwardBackend>) | undefined;
  if (opts.backend === 'webgpu') {
    const { GpuBackend } = await import('../gpu/GpuBackend.ts');
    const gpuOpts = { blockSize, numBlocks: opts.kv?.maxBlocks, memoryBudgetBytes: opts.kv?.memoryBudgetBytes, gpu: opts.gpu };
    const gpu = await GpuBackend.create(weights, gpuOpts);
    adapter = gpu.gpu.cpuAdapter ? 'WebGPU on a CPU adapter (SwiftShader)' : 'WebGPU';
    backend = gpu;
    rebuildBackend = gpuRebuilder(opts.source, weights.fingerprint, (w) => GpuBackend.create(w, gpuOpts));
  } else {
    backend = new CpuBackend(weights, { blockSize, numBlocks });
  }
  return new Engine(backend, tokenizer, {
    modelName: opts.source.describe(),
    fingerprint: weights.fingerprint,
    maxBatchTokens: opts.maxBatchTokens,
    reserve: opts.kv?.reserve,
    adapter,
    prefixStore: opts.prefixStore,
    persistAfterHits: opts.persistAfterHits,
    onWarning: opts.onWarning,
    rebuildBackend,
  });
}

/**
 * After a lost device: the weights again from the same source (in a browser the
 * IndexedDB-cached one, so no network), rather than a CPU copy of every weight kept alive for a
 * rare event. A function of its own, so that its closure holds the source and not the weights.
 */
function gpuRebuilder(source: ModelSource, fingerprint: string, create: (w: ModelWeights) => Promise<ForwardBackend>): () => Promise<ForwardBackend> {
  return async () => {
    const { weights } = await loadAnyModel(source);
    if (weights.fingerprint !== fingerprint) throw new DeviceLostError(`${source.describe()} changed since it was loaded`);
    return create(weights);
  };
}
