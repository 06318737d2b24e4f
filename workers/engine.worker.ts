/// <reference lib="webworker" />
// The engine's home: loads the model, owns the GPU device and the KV cache, and serves the
// UI thread through Comlink.
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../src/api/errorTransfer.ts';
import type { Engine } from '../src/engine/Engine.ts';
import type { EngineEvent, EventSink } from '../src/engine/events.ts';
import { loadEngine } from '../src/engine/loadEngine.ts';
import type { LoadedInfo, WorkerApi, WorkerLoadOptions } from '../src/engine/WorkerApi.ts';
import { FolioError } from '../src/errors.ts';
import type { LoadProgress } from '../src/model/loadModel.ts';
import { UrlSource } from '../src/model/ModelSource.ts';

installErrorTransfer();
let engine: Engine | null = null;

function ready(): Engine {
  if (!engine) throw new FolioError('INVALID_PARAMS', 'the model is not loaded yet: await createEngine() first');
  return engine;
}

const api: WorkerApi = {
  async load(opts: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadedInfo> {
    const source = new UrlSource(opts.modelUrl);
    const common = { source, kv: opts.kv, maxBatchTokens: opts.maxBatchTokens, onProgress: onProgress && ((p: LoadProgress) => void onProgress(p)) };
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
    return { backend: engine.backend.name, adapter: engine.stats().adapter, fallbackReason };
  },

  generate(params: unknown, sink: EventSink): string {
    const remote = sink as EventSink & Partial<Comlink.ProxyMarked> & { [Comlink.releaseProxy]?: () => void };
    return ready().generate(params, (events: EngineEvent[]) => {
      void remote(events);
      // The request is over: drop its message port.
      if (events.some((e) => e.type === 'done' || e.type === 'error')) remote[Comlink.releaseProxy]?.();
    });
  },
  abort: (id) => engine?.abort(id),
  stats: () => ready().stats(),
  blockMap: () => ready().blockMap(),
  modelName: () => ready().modelName(),
};

Comlink.expose(api);
