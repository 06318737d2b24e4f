import { CpuBackend } from '../cpu/CpuBackend.ts';
import { InvalidParamsError } from '../errors.ts';
import type { LoadProgress } from '../model/loadModel.ts';
import { loadModel } from '../model/loadModel.ts';
import type { ModelSource } from '../model/ModelSource.ts';
import type { ModelConfig } from '../model/config.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { KvBlockStore } from '../storage/KvBlockStore.ts';
import { Engine } from './Engine.ts';
import type { ForwardBackend } from './ForwardBackend.ts';

export interface KvOptions {
  /** Tokens per block; 16 by default. */
  blockSize?: number;
  /** An exact number of blocks. */
  maxBlocks?: number;
  /** Or a memory budget for K and V of all layers; 64 MiB by default. */
  memoryBudgetBytes?: number;
}

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

const DEFAULT_KV_BUDGET = 64 * 2 ** 20;

/** Bytes of K and V, all layers, of one block. */
export function bytesPerBlock(c: ModelConfig, blockSize: number): number {
  return 2 * c.numLayers * c.numKvHeads * blockSize * c.headDim * 4;
}

/** The number of KV blocks the options ask for, within the model's context at most a few times over. */
export function numBlocksFor(c: ModelConfig, kv: KvOptions): number {
  const blockSize = kv.blockSize ?? 16;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 256) throw new InvalidParamsError('kv.blockSize', `must be an integer from 1 to 256, got ${blockSize}`);
  if (kv.maxBlocks !== undefined) {
    if (!Number.isInteger(kv.maxBlocks) || kv.maxBlocks < 1) throw new InvalidParamsError('kv.maxBlocks', `must be an integer >= 1, got ${kv.maxBlocks}`);
    return kv.maxBlocks;
  }
  const budget = kv.memoryBudgetBytes ?? DEFAULT_KV_BUDGET;
  if (!(budget > 0)) throw new InvalidParamsError('kv.memoryBudgetBytes', `must be > 0, got ${budget}`);
  const n = Math.floor(budget / bytesPerBlock(c, blockSize));
  if (n < 1) throw new InvalidParamsError('kv.memoryBudgetBytes', `${budget} bytes hold not even one block of ${bytesPerBlock(c, blockSize)} bytes`);
  return n;
}

/** Loads a model and builds an engine on the chosen backend. */
export async function loadEngine(opts: LoadEngineOptions): Promise<Engine> {
  const { weights, tokenizerJson, tokenizerConfig } = await loadModel(opts.source, { onProgress: opts.onProgress });
  if (!tokenizerJson) throw new InvalidParamsError('model', `${opts.source.describe()} has no tokenizer.json`);
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: weights.config.eosTokenIds });
  const blockSize = opts.kv?.blockSize ?? 16;
  const numBlocks = numBlocksFor(weights.config, opts.kv ?? {});
  let backend: ForwardBackend;
  let adapter = 'CPU (TypeScript reference)';
  if (opts.backend === 'webgpu') {
    const { GpuBackend } = await import('../gpu/GpuBackend.ts');
    const gpu = await GpuBackend.create(weights, { blockSize, numBlocks, gpu: opts.gpu });
    adapter = gpu.gpu.cpuAdapter ? 'WebGPU on a CPU adapter (SwiftShader)' : 'WebGPU';
    backend = gpu;
  } else {
    backend = new CpuBackend(weights, { blockSize, numBlocks });
  }
  return new Engine(backend, tokenizer, {
    modelName: opts.source.describe(),
    fingerprint: weights.fingerprint,
    maxBatchTokens: opts.maxBatchTokens,
    adapter,
    prefixStore: opts.prefixStore,
    persistAfterHits: opts.persistAfterHits,
    onWarning: opts.onWarning,
  });
}
