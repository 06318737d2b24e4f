/// <reference lib="webworker" />
// The engine's home: loads the model, owns the GPU device and the KV cache, and serves the
// UI thread through Comlink.
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../src/api/errorTransfer.ts';
import type { Engine } from '../src/engine/Engine.ts';
import { packEvents } from '../src/api/eventTransfer.ts';
import { OverallProgress } from '../src/api/loadProgress.ts';
import { holdLock } from '../src/api/workerLock.ts';
import type { EngineEvent, WireSink } from '../src/engine/events.ts';
import { loadEngine } from '../src/engine/loadEngine.ts';
import type { LoadedInfo, LoadEvent, LoadStep, WorkerApi, WorkerLoadOptions } from '../src/engine/WorkerApi.ts';
import { FolioError } from '../src/errors.ts';
import type { ModelSource } from '../src/model/ModelSource.ts';
import { ggufSource, ggufUrl, UrlSource } from '../src/model/ModelSource.ts';
import { draftThroughCache } from '../src/speculative/draftCache.ts';
import { deleteCachedModel, listCachedModels } from '../src/storage/cacheAdmin.ts';
import { CachedSource } from '../src/storage/CachedSource.ts';
import { idbStore, type KeyValueStore, withQuota } from '../src/storage/KeyValueStore.ts';
import { KvBlockStore } from '../src/storage/KvBlockStore.ts';

installErrorTransfer();
let engine: Engine | null = null;
/** Each live request's way to drop its event port, by request id (for abort). */
const sinks = new Map<string, () => void>();

/** One IndexedDB database per cache (idb-keyval opens one object store per database). */
const WEIGHTS_DB = 'folio-weights';
const KV_DB = 'folio-kv';
let stores: { weights: KeyValueStore; kv: KvBlockStore } | null = null;

function openStores(opts?: WorkerLoadOptions): { weights: KeyValueStore; kv: KvBlockStore } | null {
  if (typeof indexedDB === 'undefined') return null;
  const cache = opts?.cache || {};
  if (!stores || opts) {
    const quota = cache.simulateQuotaBytes;
    const wrap = (s: KeyValueStore) => (quota === undefined ? s : withQuota(s, quota));
    stores = { weights: wrap(idbStore(WEIGHTS_DB)), kv: new KvBlockStore(wrap(idbStore(KV_DB)), { budgetBytes: cache.kvBudgetBytes }) };
  }
  return stores;
}

function ready(): Engine {
  if (!engine) throw new FolioError('INVALID_PARAMS', 'the model is not loaded yet: await createEngine() first');
  return engine;
}

/** Exported for the SharedWorker (src/shared/shared.worker.ts), which serves the same engine to many tabs. */
export const api: WorkerApi = {
  holdLock,
  async load(opts: WorkerLoadOptions, onProgress?: (p: LoadEvent) => void): Promise<LoadedInfo> {
    // Each step also carries the load's overall fraction and a line of text.
    const overall = new OverallProgress();
    const report = onProgress && ((p: LoadStep) => void onProgress(overall.update(p)));
    const cacheOpts = opts.cache === false ? null : (opts.cache ?? {});
    const s = cacheOpts ? openStores(opts) : null;
    const warnings: string[] = [];
    if (cacheOpts && !s) warnings.push('IndexedDB is unavailable: nothing is cached');
    // A GGUF file is one file of its folder: the folder is what is fetched from, the file what is read.
    const gguf = ggufUrl(opts.modelUrl);
    const url = new UrlSource(gguf?.folder ?? opts.modelUrl);
    const cached =
      s && cacheOpts?.weights !== false
        ? new CachedSource(url, {
            store: s.weights,
            chunkBytes: cacheOpts?.chunkBytes,
            modelKey: opts.modelUrl.replace(/\/+$/, ''),
            onProgress: (p) => report?.({ file: p.file, filesDone: p.filesDone, filesTotal: p.filesTotal, bytesLoaded: p.bytesLoaded, bytesTotal: p.bytesTotal, totalBytesLoaded: p.totalBytesLoaded, fromCache: p.fromCache, ...(p.warning ? { warning: p.warning } : {}) }),
          })
        : null;
    const source: ModelSource = gguf ? ggufSource(cached ?? url, gguf.file) : (cached ?? url);
    const prefixStore = s && cacheOpts?.prefix !== false ? s.kv : undefined;
    const onWarning = (m: string) => {
      if (!warnings.includes(m)) warnings.push(m);
      report?.({ file: '', filesDone: 0, filesTotal: 0, warning: m });
    };
    // A draft model's files go to the same cache as the model's, under the draft's own URL.
    const speculative = s && cacheOpts?.weights !== false ? await draftThroughCache(opts.speculative, { store: s.weights, chunkBytes: cacheOpts?.chunkBytes, target: cached && { key: opts.modelUrl.replace(/\/+$/, ''), source: cached }, onWarning }) : opts.speculative;
    let weightsPicked: { option: string; reason: string } | null = null;
    const common = { source, kv: opts.kv, maxBatchTokens: opts.maxBatchTokens, onProgress: report, prefixStore, persistAfterHits: cacheOpts?.persistAfterHits, onWarning, weights: opts.weights, kernels: opts.kernels, cpu: opts.cpu, speculative, onWeights: (p: { option: string; reason: string }) => (weightsPicked = p) };
    let fallbackReason: string | null = null;
    if (opts.backend === 'cpu') {
      engine = await loadEngine({ ...common, backend: 'cpu' });
    } else {
      try {
        engine = await loadEngine({ ...common, backend: 'webgpu', gpu: navigator.gpu });
      } catch (e) {
        if (opts.backend === 'webgpu' || !(e instanceof FolioError) || !['WEBGPU_UNAVAILABLE', 'DEVICE_LOST'].includes(e.code)) throw e;
        fallbackReason = e.message;
        engine = await loadEngine({ ...common, backend: 'cpu' });
      }
    }
    if (cached) {
      await cached.commit(engine.fingerprint);
      if (cached.warning && !warnings.includes(cached.warning)) warnings.unshift(cached.warning);
    }
    // Awaited: the page has every progress event, the last at 1, before createEngine resolves.
    await onProgress?.(overall.ready(`Ready: ${engine.modelName()} on ${engine.backend.name === 'webgpu' ? 'WebGPU' : 'the CPU'}`));
    return {
      backend: engine.backend.name,
      adapter: engine.stats().adapter,
      fallbackReason,
      warning: warnings.length > 0 ? warnings.join('; ') : null,
      fromCache: cached?.fromCache ?? false,
      network: cached ? { ...cached.net } : { requests: -1, bytes: -1 },
      weights: weightsPicked,
    };
  },

  async generate(params: unknown, sink: WireSink): Promise<string> {
    const remote = sink as WireSink & { [Comlink.releaseProxy]?: () => void };
    let ended = false;
    let id: string | undefined;
    // The request is over: drop its message port.
    const end = () => {
      if (!ended) remote[Comlink.releaseProxy]?.();
      ended = true;
      if (id !== undefined) sinks.delete(id);
    };
    try {
      id = await ready().generate(params, (events: EngineEvent[]) => {
        // Errors travel as data: structured clone would drop their class, name and code.
        void remote(packEvents(events));
        if (events.some((e) => e.type === 'done' || e.type === 'error')) end();
      });
      if (!ended) sinks.set(id, end);
      return id;
    } catch (e) {
      end();
      throw e;
    }
  },
  abort(id) {
    engine?.abort(id);
    sinks.get(id)?.();
  },
  stats: () => ready().stats(),
  blockMap: () => ready().blockMap(),
  modelName: () => ready().modelName(),
  pinPrefix: (input) => ready().pinPrefix(input),
  flushStorage: async () => engine?.flushStorage(),
  async cacheList() {
    const s = openStores();
    return s ? listCachedModels(s.weights, s.kv) : [];
  },
  async cacheDelete(model: string) {
    const s = openStores();
    const deleted = s ? await deleteCachedModel(s.weights, s.kv, model) : false;
    engine?.forgetRemovedPrefixBlocks();
    return deleted;
  },
  async cacheClear() {
    const s = openStores();
    if (!s) return;
    await s.weights.clear();
    await s.kv.clear();
    engine?.forgetRemovedPrefixBlocks();
  },
};

Comlink.expose(api);
