import type { LoadProgress } from '../model/loadModel.ts';
import type { BlockCell, EngineStats, EventSink } from './events.ts';
import type { KvOptions } from './loadEngine.ts';

export type BackendChoice = 'webgpu' | 'cpu' | 'auto';

/** What the UI thread sends to load a model in the worker (structured-clonable). */
export interface WorkerLoadOptions {
  /** An absolute URL of a model folder in the Hugging Face layout. */
  modelUrl: string;
  backend: BackendChoice;
  kv?: KvOptions;
  maxBatchTokens?: number;
}

export interface LoadedInfo {
  backend: 'webgpu' | 'cpu';
  adapter: string;
  /** Why 'auto' fell back to the CPU, if it did. */
  fallbackReason: string | null;
}

/** The engine worker's surface, as Comlink exposes it. */
export interface WorkerApi {
  load(opts: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadedInfo>;
  generate(params: unknown, sink: EventSink): string;
  abort(requestId: string): void;
  stats(): EngineStats;
  blockMap(): BlockCell[];
  modelName(): string;
}
