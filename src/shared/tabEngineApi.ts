import * as Comlink from 'comlink';
import type { WireEvent, WireSink } from '../engine/events.ts';
import type { LoadedInfo, LoadEvent, WorkerApi, WorkerLoadOptions } from '../engine/WorkerApi.ts';
import { EngineClosedError } from '../errors.ts';
import type { SharedLoad } from './SharedLoad.ts';
import type { SharedBlockCell, SharedEngineStats } from './sharingTypes.ts';
import type { TabRegistry } from './TabRegistry.ts';

type PortSink = WireSink & { [Comlink.releaseProxy]?: () => void };

/** A WorkerApi as served over a port, where any answer may come later. */
export type ServedApi<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => R | Promise<Awaited<R>> : T[K] };

/** The engine as a tab sees it: stats and cells say which tab holds what. */
export type TabEngineApi = Omit<ServedApi<WorkerApi>, 'stats' | 'blockMap'> & { stats(): Promise<SharedEngineStats>; blockMap(): Promise<SharedBlockCell[]> };

const ends = (events: WireEvent[]) => events.some((e) => e.type === 'done' || e.type === 'error');

/**
 * The engine as one tab sees it: the shared engine's WorkerApi, with the requests it starts
 * recorded as its own. A tab streams only its own requests (each has its own sink) and aborts
 * only its own; stats() and blockMap() say which tab holds what.
 */
export function tabEngineApi(engine: WorkerApi, registry: TabRegistry, shared: SharedLoad, tab: string): TabEngineApi {
  /** Each running request's way to drop the port its events go to. */
  const ports = new Map<string, () => void>();
  return {
    holdLock: (name) => engine.holdLock(name),
    async load(opts: WorkerLoadOptions, onProgress?: (p: LoadEvent) => void): Promise<LoadedInfo> {
      const { info, attached } = await shared.get(opts, onProgress);
      // A tab that left during the load (closed, navigated away) is not brought back.
      const label = registry.labelOfTab(tab);
      if (label === undefined) throw new EngineClosedError('disposed', 'this tab left the shared engine while the model loaded');
      if (attached) await onProgress?.({ file: '', filesDone: 0, filesTotal: 0, progress: 1, text: `Ready: attached to the shared engine as ${label}` });
      return {
        ...info,
        // A tab that attached fetched nothing and read nothing from the cache.
        network: attached ? { requests: 0, bytes: 0 } : info.network,
        fromCache: attached ? false : info.fromCache,
        sharing: { mode: 'shared', tab: label, attached, reason: null },
      };
    },
    async generate(params: unknown, sink: WireSink): Promise<string> {
      const port = sink as PortSink;
      let id: string | undefined;
      let over = false;
      const finish = () => {
        if (over) return;
        over = true;
        if (id !== undefined) {
          registry.release(id);
          ports.delete(id);
        }
        port[Comlink.releaseProxy]?.();
      };
      const forward = (events: WireEvent[]) => {
        if (over) return;
        void port(events);
        if (ends(events)) finish();
      };
      try {
        id = await engine.generate(params, forward);
      } catch (e) {
        finish();
        throw e;
      }
      // The tab left while the request was being admitted: nobody is listening.
      if (!over && !registry.own(tab, id)) {
        engine.abort(id);
        finish();
      }
      if (!over) ports.set(id, finish);
      return id;
    },
    abort(id) {
      // Another tab's request is not this tab's to stop (nor to see).
      if (registry.ownerOf(id) !== tab) return;
      engine.abort(id);
      // The page stopped listening when it aborted; what matters is that the port is let go.
      ports.get(id)?.();
    },
    stats: async (): Promise<SharedEngineStats> => ({ ...(await engine.stats()), tabs: registry.summary(tab) }),
    blockMap: async (): Promise<SharedBlockCell[]> => (await engine.blockMap()).map((c) => ({ ...c, tabs: c.owners.map((o) => registry.labelOf(o)) })),
    modelName: () => engine.modelName(),
    pinPrefix: (input) => engine.pinPrefix(input),
    flushStorage: () => engine.flushStorage(),
    cacheList: () => engine.cacheList(),
    cacheDelete: (model) => engine.cacheDelete(model),
    cacheClear: () => engine.cacheClear(),
  };
}

/** Aborts everything tab `id` still runs (it closed or navigated away) and forgets it. */
export function leaveTab(engine: WorkerApi, registry: TabRegistry, id: string): void {
  for (const request of registry.leave(id)) engine.abort(request);
}
