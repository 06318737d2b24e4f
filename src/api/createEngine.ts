import * as Comlink from 'comlink';
import type { EngineHandle } from '../engine/events.ts';
import type { KvOptions } from '../engine/loadEngine.ts';
import type { BackendChoice, CacheOptions, LoadedInfo, LoadEvent, WorkerApi } from '../engine/WorkerApi.ts';
import { EngineClosedError } from '../errors.ts';
import { unpackEvents } from './eventTransfer.ts';
import { installErrorTransfer } from './errorTransfer.ts';
import { FolioEngine } from './FolioEngine.ts';
import { Lifetime } from './Lifetime.ts';
import { trustedTypesRefusal } from './trustedTypesRefusal.ts';
import { whenLockFreed } from './workerLock.ts';
import { watchWorkerStart } from './workerStartWatch.ts';

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
  constructor(handle: EngineHandle, dispose: () => void, readonly info: LoadedInfo, life: Lifetime) {
    super(handle, dispose, life);
  }
}

/** The bundled worker (Vite emits it as a file: the page's CSP needs `worker-src 'self'`). */
function defaultWorker(): Worker {
  try {
    return new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'folio-engine' });
  } catch (e) {
    // A Vite-rewritten URL cannot pass through a policy here: the page makes the worker itself.
    throw trustedTypesRefusal(e, 'create the worker through your Trusted Types policy and pass it to createEngine as `worker`') ?? e;
  }
}

/**
 * Starts the engine worker and loads a model into it. Rejects with a typed error when the
 * worker cannot start (ContentSecurityPolicyError under a CSP that blocks it) or stops.
 */
export async function createEngine(opts: CreateEngineOptions): Promise<WorkerFolioEngine> {
  installErrorTransfer();
  const worker = opts.worker ?? defaultWorker();
  const life = new Lifetime();
  const stopWatching = watchWorkerStart(worker, (e) => life.end(e));
  const remote = Comlink.wrap<WorkerApi>(worker);
  const lockWatch = new AbortController();
  const dispose = () => {
    stopWatching();
    lockWatch.abort();
    remote[Comlink.releaseProxy]();
    worker.terminate();
  };
  try {
    const lock = `folio-engine-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    if (await life.guard(() => remote.holdLock(lock))) {
      whenLockFreed(lock, () => life.end(new EngineClosedError('worker-stopped', 'the engine worker stopped (terminated or crashed)')), lockWatch.signal);
    }
    const info = await life.guard(() =>
      remote.load(
        { modelUrl: new URL(opts.model, globalThis.location?.href).href, backend: opts.backend ?? 'auto', kv: opts.kv, maxBatchTokens: opts.maxBatchTokens, cache: opts.cache },
        opts.onProgress ? Comlink.proxy(opts.onProgress) : undefined,
      ),
    );
    stopWatching();
    const handle: EngineHandle = {
      generate: (params, sink) => remote.generate(params, Comlink.proxy((events) => sink(unpackEvents(events)))),
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
    return new WorkerFolioEngine(handle, dispose, info, life);
  } catch (e) {
    life.end(new EngineClosedError('disposed', 'the engine failed to load'));
    dispose();
    throw e;
  }
}
