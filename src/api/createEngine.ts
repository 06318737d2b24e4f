import * as Comlink from 'comlink';
import type { EngineHandle } from '../engine/events.ts';
import type { KvOptions } from '../engine/loadEngine.ts';
import type { BackendChoice, CacheOptions, LoadedInfo, LoadEvent, WorkerApi } from '../engine/WorkerApi.ts';
import { installErrorTransfer } from './errorTransfer.ts';
import { FolioEngine } from './FolioEngine.ts';

export interface CreateEngineOptions {
  /** A model folder's URL in the Hugging Face layout (relative URLs resolve against the page). */
  model: string;
  /** 'auto' (default): WebGPU, or the CPU backend where WebGPU is missing. */
  backend?: BackendChoice;
  kv?: KvOptions;
  maxBatchTokens?: number;
  /** Load progress: files, and bytes (downloaded or read from IndexedDB) for a progress bar. */
  onProgress?: (p: LoadEvent) => void;
  /** IndexedDB caching of weights and prefix-KV blocks (on by default); false turns it off. */
  cache?: CacheOptions | false;
  /** A worker to use instead of the bundled one (e.g. built by another tool). */
  worker?: Worker;
}

/** A FolioEngine whose engine runs in a Web Worker, reached through Comlink. */
export class WorkerFolioEngine extends FolioEngine {
  constructor(handle: EngineHandle, dispose: () => void, readonly info: LoadedInfo) {
    super(handle, dispose);
  }
}

/** Starts the engine worker and loads a model into it. */
export async function createEngine(opts: CreateEngineOptions): Promise<WorkerFolioEngine> {
  installErrorTransfer();
  const worker = opts.worker ?? new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'folio-engine' });
  const remote = Comlink.wrap<WorkerApi>(worker);
  const dispose = () => {
    remote[Comlink.releaseProxy]();
    worker.terminate();
  };
  try {
    const info = await remote.load(
      { modelUrl: new URL(opts.model, globalThis.location?.href).href, backend: opts.backend ?? 'auto', kv: opts.kv, maxBatchTokens: opts.maxBatchTokens, cache: opts.cache },
      opts.onProgress ? Comlink.proxy(opts.onProgress) : undefined,
    );
    const handle: EngineHandle = {
      generate: (params, sink) => remote.generate(params, Comlink.proxy(sink)),
      abort: (id) => remote.abort(id),
      stats: () => remote.stats(),
      blockMap: () => remote.blockMap(),
      modelName: () => remote.modelName(),
      pinPrefix: (input) => remote.pinPrefix(input),
      flushStorage: () => remote.flushStorage(),
      cache: {
        list: () => remote.cacheList(),
        delete: (model) => remote.cacheDelete(new URL(model, globalThis.location?.href).href.replace(/\/+$/, '')),
        clear: () => remote.cacheClear(),
      },
    };
    return new WorkerFolioEngine(handle, dispose, info);
  } catch (e) {
    dispose();
    throw e;
  }
}
