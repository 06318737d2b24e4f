import * as Comlink from 'comlink';
import type { EngineHandle } from '../engine/events.ts';
import type { KvOptions } from '../engine/loadEngine.ts';
import type { EngineSpeculativeOption } from '../speculative/draftModelLoad.ts';
import type { WeightsOption } from '../quant/quantizeModel.ts';
import { kernelsOption, type KernelsOption } from '../gpu/kernelSet.ts';
import { cpuKernelsOption, type CpuOptions, cpuThreadsOption } from '../cpu/cpuKernels.ts';
import type { BackendChoice, CacheOptions, LoadedInfo, LoadEvent, WorkerApi, WorkerLoadOptions } from '../engine/WorkerApi.ts';
import { EngineClosedError, InvalidParamsError } from '../errors.ts';
import { unpackEvents } from './eventTransfer.ts';
import { installErrorTransfer } from './errorTransfer.ts';
import { FolioEngine } from './FolioEngine.ts';
import { Lifetime } from './Lifetime.ts';
import type { LoadedModel } from './modelSlot.ts';
import { trustedTypesRefusal } from './trustedTypesRefusal.ts';
import { whenLockFreed } from './workerLock.ts';
import { connectRemote, type RemoteEngine } from '../remote/RemoteEngine.ts';
import type { RemoteEndpoint } from '../remote/RemoteEndpoint.ts';
import { withRemoteFallback } from '../remote/fallback.ts';
import { watchWorkerStart } from './workerStartWatch.ts';
import { startShared } from '../shared/startShared.ts';
import type { SharedOptions } from '../shared/sharingTypes.ts';

export interface CreateEngineOptions {
  /** A model folder's URL in the Hugging Face layout (relative URLs resolve against the page). */
  model: string;
  /** 'auto' (default): WebGPU, or the CPU backend where WebGPU is missing. */
  backend?: BackendChoice;
  kv?: KvOptions;
  maxBatchTokens?: number;
  /** Quantize a safetensors model's 2-D weights on load ('f32', the default, packs nothing). */
  weights?: WeightsOption;
  /** WebGPU's kernels: 'auto' (default) by the adapter, 'gpu' or 'fallback'; `info.adapter` says which runs and why. */
  kernels?: KernelsOption;
  /** The CPU backend: `kernels` 'wasm' (WebAssembly SIMD, the default) or 'js' (the TypeScript reference), and `threads`; `info.adapter` says what runs and why. */
  cpu?: CpuOptions;
  /**
   * Speculative decoding: every request's default `{ method: 'ngram' | 'draft', k }`, and a draft
   * model (`draftModel`: a folder URL or .gguf file with the model's tokenizer, relative URLs as
   * `model`; `draftWeights` as `weights`) loaded beside the model for method 'draft'.
   */
  speculative?: Omit<EngineSpeculativeOption, 'draftModel'> & { draftModel?: string };
  /** Load progress: files, and bytes (downloaded or read from IndexedDB) for a progress bar. */
  onProgress?: (p: LoadEvent) => void;
  /** IndexedDB caching of weights and prefix-KV blocks (on by default); false turns it off. */
  cache?: CacheOptions | false;
  /**
   * A worker to use instead of the bundled one (e.g. built by another tool), or a function that
   * makes one: reload() starts a fresh worker, so a Worker object given here serves one load
   * only (reload() then needs `{ worker }`), while a function serves every reload.
   */
  worker?: Worker | (() => Worker);
  /**
   * One engine for every tab of the origin with the same model and options, in a SharedWorker:
   * the first tab loads the model, later ones attach without loading. Where a SharedWorker or
   * its WebGPU adapter is missing, a dedicated worker (`worker`) runs it; `info.sharing` says so.
   */
  shared?: boolean | SharedOptions;
}

/** reload()'s options: createEngine's, overriding those given to createEngine for this load. */
export interface ReloadOptions extends Partial<Omit<CreateEngineOptions, 'model'>> {
  /**
   * Unload the current model before loading the new one (WebLLM's order): half the peak memory,
   * but the engine is unloaded during the load, and stays so if it fails. Default false: the
   * new model loads beside the old one, which keeps serving and stays if the load fails.
   */
  unloadFirst?: boolean;
}

/** A FolioEngine whose engine runs in a Web Worker, reached through Comlink; it can reload(). */
export class WorkerFolioEngine extends FolioEngine {
  private loaded: LoadedInfo;
  private readonly options: CreateEngineOptions;

  constructor(handle: EngineHandle, dispose: () => void, info: LoadedInfo, life: Lifetime, options?: CreateEngineOptions) {
    super(handle, dispose, life);
    this.loaded = info;
    this.options = options ?? { model: '' };
  }

  /** What the last load got (backend, adapter, cache use); after reload(), the new model's; unload() keeps the last. */
  get info(): LoadedInfo {
    return this.loaded;
  }

  protected override async loadModel(model: string, opts: ReloadOptions, life: Lifetime): Promise<LoadedModel> {
    const { unloadFirst: _, ...given } = opts;
    const worker = given.worker ?? this.options.worker;
    if (worker !== undefined && typeof worker !== 'function' && given.worker === undefined) {
      throw new InvalidParamsError('worker', 'createEngine was given a Worker object, which served its load: pass reload(model, { worker }) a new one, or give createEngine a function that makes workers');
    }
    const next = { ...this.options, ...given, model, worker };
    const started = await (next.shared ? startShared(next, life, startWorker) : startWorker(next, life));
    return { handle: started.handle, free: started.free, info: started.info };
  }

  protected override adopted(loaded: LoadedModel): void {
    if (loaded.info) this.loaded = loaded.info;
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

/** `speculative` for the worker: a draft model's URL resolved against the page, as the model's is. */
function speculativeOption(s: CreateEngineOptions['speculative']): WorkerLoadOptions['speculative'] {
  return s?.draftModel === undefined ? s : { ...s, draftModel: new URL(s.draftModel, globalThis.location?.href).href };
}

/** `createEngine({ backend: 'remote', baseURL, model, apiKey? })`: an OpenAI-compatible server instead of a local model. */
export interface RemoteEngineOptions extends RemoteEndpoint {
  backend: 'remote';
}

/** A local model with `backend: 'auto'` (the default), falling back to `remote` when it cannot load. */
export interface CreateEngineWithFallback extends CreateEngineOptions {
  remote: RemoteEndpoint;
}

/**
 * Starts the engine worker and loads a model into it. Rejects with a typed error when the
 * worker cannot start (ContentSecurityPolicyError under a CSP that blocks it) or stops.
 * `backend: 'remote'` connects to a server instead (src/remote/); `remote` beside 'auto' is
 * where to go when the local model cannot load.
 */
// The local overload first: a caller's untyped options keep meaning a local engine.
export async function createEngine(opts: CreateEngineOptions): Promise<WorkerFolioEngine>;
export async function createEngine(opts: RemoteEngineOptions): Promise<RemoteEngine>;
export async function createEngine(opts: CreateEngineWithFallback): Promise<WorkerFolioEngine | RemoteEngine>;
export async function createEngine(opts: CreateEngineOptions | RemoteEngineOptions | CreateEngineWithFallback): Promise<WorkerFolioEngine | RemoteEngine> {
  if (opts.backend === 'remote') return connectRemote(opts);
  const local = opts as CreateEngineOptions;
  const remote = 'remote' in opts && (local.backend ?? 'auto') === 'auto' ? opts.remote : undefined;
  return withRemoteFallback(async () => {
    const life = new Lifetime();
    const started = await (local.shared ? startShared(local, life, startWorker) : startWorker(local, life));
    return new WorkerFolioEngine(started.handle, started.free, started.info, life, local);
  }, remote);
}

/**
 * A worker with `opts.model` loaded: its handle, how to stop it, what loaded. `life` ends
 * when the worker stops; ended from outside during the load (a reload superseded), the load
 * rejects with its error and the worker is stopped.
 */
async function startWorker(opts: CreateEngineOptions, life: Lifetime): Promise<{ handle: EngineHandle; free: () => void; info: LoadedInfo }> {
  installErrorTransfer();
  const worker = typeof opts.worker === 'function' ? opts.worker() : opts.worker ?? defaultWorker();
  const stopWatching = watchWorkerStart(worker, (e) => life.end(e));
  const remote = Comlink.wrap<WorkerApi>(worker);
  const lockWatch = new AbortController();
  const free = () => {
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
        { modelUrl: new URL(opts.model, globalThis.location?.href).href, backend: opts.backend ?? 'auto', kv: opts.kv, maxBatchTokens: opts.maxBatchTokens, cache: opts.cache, weights: opts.weights, kernels: kernelsOption(opts.kernels), cpu: { kernels: cpuKernelsOption(opts.cpu?.kernels), threads: cpuThreadsOption(opts.cpu?.threads) }, speculative: speculativeOption(opts.speculative) },
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
    return { handle, free, info };
  } catch (e) {
    life.end(new EngineClosedError('disposed', 'the engine failed to load'));
    free();
    throw e;
  }
}
