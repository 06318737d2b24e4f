import type { EngineHandle, EngineEvent, EventSink } from '../engine/events.ts';
import type { EngineClosedError } from '../errors.ts';
import type { LoadedInfo } from '../engine/WorkerApi.ts';
import { guardHandle } from './guardHandle.ts';
import { Lifetime } from './Lifetime.ts';

/** A model reload() loaded: its engine's handle (not yet guarded), how to free it, what loaded. */
export interface LoadedModel {
  handle: EngineHandle;
  free: () => void;
  info?: LoadedInfo;
}

/** One model an engine object held or holds: its guarded handle and life, and how to free it. */
export interface ModelSlot {
  /** Tags request ids, so that an abort reaches the model the request ran on and no other. */
  serial: number;
  handle: EngineHandle;
  life: Lifetime;
  free: () => void;
}

export function modelSlot(serial: number, guarded: EngineHandle, life: Lifetime, free: () => void): ModelSlot {
  let freed = false;
  return {
    serial, handle: guarded, life,
    free: () => {
      if (freed) return;
      freed = true;
      free();
    },
  };
}

const nothing = (): never => {
  throw new Error('a closed model slot was called');
};

/** No model (after unload() or dispose()): every call rejects with `error` at once. */
export function closedSlot(serial: number, error: EngineClosedError): ModelSlot {
  const life = new Lifetime();
  life.end(error);
  const none: EngineHandle = { generate: nothing, abort: () => {}, stats: nothing, blockMap: nothing, modelName: nothing };
  return { serial, handle: guardHandle(none, life), life, free: () => {} };
}

/**
 * A handle that sends each call to the slot `current()` returns when the call is made, so that
 * the Completions an engine built once keep working across reload(). Request ids come back as
 * `serial:id`: an abort goes to the model that ran the request (ids of two workers may be equal);
 * one for a model that is gone does nothing, its requests having ended already.
 */
export function switchHandle(current: () => ModelSlot): EngineHandle {
  const SEP = ':';
  return {
    generate(params: unknown, sink: EventSink) {
      const slot = current();
      const started = slot.handle.generate(params, sink as (events: EngineEvent[]) => void);
      const tag = (id: string) => `${slot.serial}${SEP}${id}`;
      return started instanceof Promise ? started.then(tag) : tag(started);
    },
    abort(tagged: string) {
      const at = tagged.indexOf(SEP);
      const slot = current();
      if (at < 0 || Number(tagged.slice(0, at)) !== slot.serial) return;
      return slot.handle.abort(tagged.slice(at + 1));
    },
    stats: () => current().handle.stats(),
    blockMap: () => current().handle.blockMap(),
    modelName: () => current().handle.modelName(),
    pinPrefix: (input) => {
      const h = current().handle;
      return h.pinPrefix ? h.pinPrefix(input) : Promise.reject(new Error('this engine cannot pin prefixes'));
    },
    flushStorage: async () => current().handle.flushStorage?.(),
  };
}
