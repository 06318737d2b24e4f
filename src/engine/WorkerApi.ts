import type { ChatMessage } from '../api/openai.ts';
import type { LoadProgress } from '../model/loadModel.ts';
import type { WeightsChoice } from '../quant/quantizeModel.ts';
import type { CachedModel } from '../storage/cacheAdmin.ts';
import type { PinResult } from './Engine.ts';
import type { BlockCell, EngineStats, WireSink } from './events.ts';
import type { KvOptions } from './loadEngine.ts';
import type { KernelsOption } from '../gpu/kernelSet.ts';
import type { CpuOptions } from '../cpu/cpuKernels.ts';
import type { SharingInfo } from '../shared/sharingTypes.ts';
import type { EngineSpeculativeOption } from '../speculative/draftModelLoad.ts';

export type BackendChoice = 'webgpu' | 'cpu' | 'auto';

/** IndexedDB caching of weights and prefix-KV blocks; on by default where IndexedDB exists. */
export interface CacheOptions {
  /** Keep model weights in IndexedDB (default true). */
  weights?: boolean;
  /** Persist prefix-KV blocks in IndexedDB (default true). */
  prefix?: boolean;
  /** Bytes of prefix-KV blocks kept, LRU beyond; 64 MiB by default. */
  kvBudgetBytes?: number;
  /** Prompts that must share a block before it is persisted; 2 by default. */
  persistAfterHits?: number;
  /** Bytes per stored weight chunk; 8 MiB by default. */
  chunkBytes?: number;
  /** Test hook: writes fail with QuotaExceededError past this many bytes, as a full disk would. */
  simulateQuotaBytes?: number;
}

/**
 * One step of a load as the worker sees it: the loader's file events (file, filesDone,
 * filesTotal), and the weight cache's byte events, which add bytes and whether they came
 * from IndexedDB.
 */
export interface LoadStep extends LoadProgress {
  bytesLoaded?: number;
  bytesTotal?: number;
  /** Bytes over all files so far. */
  totalBytesLoaded?: number;
  fromCache?: boolean;
  /** Caching stopped (a full quota) or a cached file was bad; the load goes on. */
  warning?: string;
}

/** Load progress as createEngine's onProgress gets it: a step, and the load as a whole. */
export interface LoadEvent extends LoadStep {
  /** The whole load from 0 to 1 (the weights by bytes to 0.9, then building the engine); 1 once ready. */
  progress: number;
  /** What is happening, in a line, for a status bar. */
  text: string;
}

/** What the UI thread sends to load a model in the worker (structured-clonable). */
export interface WorkerLoadOptions {
  /** An absolute URL of a model folder in the Hugging Face layout. */
  modelUrl: string;
  backend: BackendChoice;
  kv?: KvOptions;
  maxBatchTokens?: number;
  /** false: no IndexedDB at all. */
  cache?: CacheOptions | false;
  /**
   * Quantize a safetensors model's 2-D weights on load: 'f32' (default), 'f16', 'q8_0', 'q4_0',
   * 'q4_k', or 'auto' (by the adapter's limits; LoadedInfo.weights says what it picked).
   */
  weights?: WeightsChoice;
  /** WebGPU's kernel set: 'auto' (default), 'gpu' or 'fallback' (src/gpu/kernelSet.ts). */
  kernels?: KernelsOption;
  /** The CPU backend's kernels (src/cpu/cpuKernels.ts). */
  cpu?: CpuOptions;
  /** Speculative decoding's default and draft model (an absolute URL), as loadEngine takes them. */
  speculative?: Omit<EngineSpeculativeOption, 'draftModel'> & { draftModel?: string };
}

export interface LoadedInfo {
  backend: 'webgpu' | 'cpu';
  /** The adapter, and on WebGPU which kernel set runs and why ("WebGPU, gpu kernels (auto: a GPU adapter)"). */
  adapter: string;
  /** Why 'auto' fell back to the CPU, if it did. */
  fallbackReason: string | null;
  /** Storage trouble that did not stop the load (a full quota, an unavailable IndexedDB). */
  warning: string | null;
  /** Whether the weights came from IndexedDB alone (no network request). */
  fromCache: boolean;
  /** Network requests and body bytes of the load. */
  network: { requests: number; bytes: number };
  /** What a safetensors model's weights were loaded as, and why ('auto'); null for a GGUF file (its own formats). */
  weights?: { option: string; reason: string } | null;
  /** With createEngine's `shared`: whether this tab shares a SharedWorker's engine, and if not why (src/shared/). */
  sharing?: SharingInfo;
}

/** The engine worker's surface, as Comlink exposes it. */
export interface WorkerApi {
  /** Holds a Web Lock named `name` while the worker lives (false: no Web Locks here), so the page learns when it stops. */
  holdLock(name: string): Promise<boolean>;
  load(opts: WorkerLoadOptions, onProgress?: (p: LoadEvent) => void): Promise<LoadedInfo>;
  /** Events come back as WireEvents: errors as data, revived on the page. */
  generate(params: unknown, sink: WireSink): Promise<string>;
  abort(requestId: string): void;
  stats(): EngineStats;
  blockMap(): BlockCell[];
  modelName(): string;
  pinPrefix(input: string | ChatMessage[]): Promise<PinResult>;
  /** Waits for queued prefix-block writes. */
  flushStorage(): Promise<void>;
  cacheList(): Promise<CachedModel[]>;
  cacheDelete(model: string): Promise<boolean>;
  cacheClear(): Promise<void>;
}
