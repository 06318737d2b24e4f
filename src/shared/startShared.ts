import * as Comlink from 'comlink';
import type { CreateEngineOptions } from '../api/createEngine.ts';
import type { Lifetime } from '../api/Lifetime.ts';
import type { EngineHandle } from '../engine/events.ts';
import type { LoadedInfo } from '../engine/WorkerApi.ts';
import { EngineClosedError } from '../errors.ts';
import { PortWorker } from './PortWorker.ts';
import { sharedKey, sharedWorkerName } from './sharedKey.ts';
import type { SharedOptions, TabControl, TabWelcome } from './sharingTypes.ts';
import { holdTabLock } from './tabLock.ts';

/** What createEngine's startWorker makes: a loaded engine's handle, how to let go of it, what loaded. */
export interface Started {
  handle: EngineHandle;
  free: () => void;
  info: LoadedInfo;
}
export type StartWorker = (opts: CreateEngineOptions, life: Lifetime) => Promise<Started>;

const BEAT_MS = 1_000;

/** The bundled SharedWorker (Vite emits it as a file, as it does the dedicated one). */
function defaultSharedWorker(name: string): SharedWorker {
  return new SharedWorker(new URL('./shared.worker.ts', import.meta.url), { type: 'module', name });
}

/**
 * `createEngine({ shared: true })`: the engine of the SharedWorker keyed by this model and these
 * options, loading the model if this tab is the first, attaching to it if not. Where there is
 * no SharedWorker, or it has no WebGPU adapter, `startWorker` makes this tab its own dedicated
 * worker, and `info.sharing` says why.
 */
export async function startShared(opts: CreateEngineOptions & { shared?: boolean | SharedOptions }, life: Lifetime, startWorker: StartWorker): Promise<Started> {
  const options: SharedOptions = typeof opts.shared === 'object' ? opts.shared : {};
  const dedicated = async (reason: string): Promise<Started> => {
    const started = await startWorker(opts, life);
    return { ...started, info: { ...started.info, sharing: { mode: 'dedicated', tab: null, attached: false, reason } } };
  };
  if (typeof SharedWorker !== 'function') return dedicated('SharedWorker is unavailable in this browser');
  const modelUrl = new URL(opts.model, globalThis.location?.href).href;
  const key = sharedKey(opts, modelUrl);
  let worker: SharedWorker;
  try {
    worker = (options.worker ?? defaultSharedWorker)(sharedWorkerName(key));
  } catch (e) {
    return dedicated(`the SharedWorker could not start: ${(e as Error).message}`);
  }
  const control = Comlink.wrap<TabControl>(worker.port);
  const tab = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const lock = await holdTabLock(`folio-tab-${tab}`);
  const channel = new MessageChannel();
  // A page kept in the back-forward cache comes back without its streams: they end with an error, not silence.
  const hidden = () => {
    leave();
    life.end(new EngineClosedError('worker-stopped', 'this page was hidden (pagehide) and left the shared engine: create the engine again'));
  };
  let beat: ReturnType<typeof setInterval> | undefined;
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    clearInterval(beat);
    globalThis.removeEventListener?.('pagehide', hidden);
    void control.bye().catch(() => {});
    lock?.release();
    control[Comlink.releaseProxy]();
    worker.port.close();
    channel.port1.close();
  };
  // A SharedWorker whose script cannot load or run answers nothing; it fires an error event.
  const failed = new Promise<TabWelcome>((resolve) => {
    worker.addEventListener('error', (e) => resolve({ ok: false, reason: `the SharedWorker could not start: ${(e instanceof ErrorEvent && e.message) || 'its script failed to load'}` }), { once: true });
  });
  const hello = control.hello({ tab, lock: lock?.name ?? null, key, needsGpu: opts.backend !== 'cpu', idleTimeoutMs: options.idleTimeoutMs }, Comlink.transfer(channel.port2, [channel.port2]));
  const welcome = await life.guard(() => Promise.race([hello, failed])).catch((e: unknown) => {
    leave();
    throw e;
  });
  if (!welcome.ok) {
    leave();
    return dedicated(welcome.reason);
  }
  beat = setInterval(() => void control.beat().catch(() => {}), BEAT_MS);
  // A tab that closes or navigates away says so; its lock, released with the page, says it too.
  globalThis.addEventListener?.('pagehide', hidden);
  // The rest is a dedicated worker's start, over this tab's port: its load() attaches if it can.
  const port = new PortWorker(channel.port1, worker, leave);
  return startWorker({ ...opts, worker: port.asWorker() }, life);
}
