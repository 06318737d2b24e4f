import type { EngineEvent, EngineHandle, EventSink } from '../engine/events.ts';
import type { Lifetime } from './Lifetime.ts';

const ends = (events: EngineEvent[]) => events.some((e) => e.type === 'done' || e.type === 'error');

/** Aborts a request on an engine that may be gone (a released Comlink proxy throws). */
function stopQuietly(handle: EngineHandle, id: string): void {
  try {
    const done = handle.abort(id);
    if (done instanceof Promise) done.catch(() => {});
  } catch {
    // nothing left to stop
  }
}

/**
 * `handle` bound to `life`: once the engine ends, pending calls reject with its error, later
 * calls reject at once, and a request still streaming gets it as its last event.
 */
export function guardHandle(handle: EngineHandle, life: Lifetime): EngineHandle {
  /** How to stop telling a request about the engine's end, by request id. */
  const live = new Map<string, () => void>();
  const guarded: EngineHandle = {
    generate(params: unknown, sink: EventSink) {
      if (life.ended) return Promise.reject(life.ended);
      let over = false;
      let id: string | undefined;
      const stop = () => {
        over = true;
        off();
        if (id !== undefined) live.delete(id);
      };
      const finish = (events: EngineEvent[]) => {
        if (over) return;
        if (ends(events)) stop();
        sink(events);
      };
      const off = life.onEnd((error) => {
        // An engine in this thread outlives dispose(): stop the request there too.
        if (id !== undefined) stopQuietly(handle, id);
        finish([{ type: 'error', error }]);
      });
      const started = life.guard(() => handle.generate(params, finish));
      started.then((got) => {
        id = got;
        if (!over) live.set(got, stop);
      }, stop);
      return started;
    },
    abort(id) {
      live.get(id)?.();
      if (!life.ended) return handle.abort(id);
    },
    stats: () => life.guard(() => handle.stats()),
    blockMap: () => life.guard(() => handle.blockMap()),
    modelName: () => life.guard(() => handle.modelName()),
  };
  if (handle.pinPrefix) guarded.pinPrefix = (input) => life.guard(() => handle.pinPrefix!(input));
  if (handle.flushStorage) guarded.flushStorage = () => life.guard(() => handle.flushStorage!());
  if (handle.cache) {
    const cache = handle.cache;
    guarded.cache = {
      list: () => life.guard(() => cache.list()),
      delete: (model) => life.guard(() => cache.delete(model)),
      clear: () => life.guard(() => cache.clear()),
    };
  }
  return guarded;
}
