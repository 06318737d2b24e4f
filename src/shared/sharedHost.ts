/// <reference lib="webworker" />
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../api/errorTransfer.ts';
import type { WorkerApi } from '../engine/WorkerApi.ts';
import { SharedLoad } from './SharedLoad.ts';
import type { TabControl, TabHello, TabWelcome } from './sharingTypes.ts';
import { TabRegistry } from './TabRegistry.ts';
import { leaveTab, tabEngineApi } from './tabEngineApi.ts';

/**
 * A hidden tab's timers may wake once a minute (Chrome's intensive throttling), so a silent
 * heartbeat means a gone tab only past that; the tab's Web Lock and its pagehide tell at once.
 */
export const HEARTBEAT_TIMEOUT_MS = 65_000;
export const DEFAULT_IDLE_MS = 30_000;
const SWEEP_MS = 1_000;

/** Why this worker cannot run WebGPU, or null if it can (asked once). */
let gpuTrouble: Promise<string | null> | null = null;
function gpuProblem(): Promise<string | null> {
  gpuTrouble ??= (async () => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return 'a SharedWorker has no navigator.gpu in this browser';
    try {
      return (await gpu.requestAdapter()) ? null : 'a SharedWorker got no WebGPU adapter in this browser';
    } catch (e) {
      return `a SharedWorker could not request a WebGPU adapter: ${(e as Error).message}`;
    }
  })();
  return gpuTrouble;
}

/**
 * The SharedWorker's side: every tab that connects gets a control line on its port and, once
 * it says hello, the engine on a port of its own. One engine, one KV pool, one batch for all.
 * `engine` may still be on its way (folio.js imports it): tabs connecting meanwhile wait, as
 * the connect listener must be in place before the first task ends.
 */
export function serveSharedEngine(scope: SharedWorkerGlobalScope, engineReady: WorkerApi | Promise<WorkerApi>): void {
  installErrorTransfer();
  const ready = Promise.resolve(engineReady);
  let engine: WorkerApi | null = null;
  void ready.then((e) => (engine = e), () => {});
  const leave = (id: string) => void ready.then((e) => leaveTab(e, registry, id));
  let idleMs = DEFAULT_IDLE_MS;
  const registry = new TabRegistry({
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    get idleTimeoutMs() {
      return idleMs;
    },
    now: () => performance.now(),
    startTimer: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    // Closing the worker frees the model and its GPU memory; the next tab starts a fresh one.
    onIdle: () => scope.close(),
  });
  const shared = new SharedLoad(async (opts, onProgress) => (await ready).load(opts, onProgress));
  setInterval(() => {
    for (const id of registry.silent()) leave(id);
  }, SWEEP_MS);

  scope.addEventListener('connect', (event) => {
    registry.touch();
    const port = event.ports[0];
    let tab: string | null = null;
    const control: TabControl = {
      async hello(hello: TabHello, enginePort: MessagePort): Promise<TabWelcome> {
        const problem = hello.needsGpu ? await gpuProblem() : null;
        if (problem) return { ok: false, reason: problem };
        let api: WorkerApi;
        try {
          api = engine ?? (await ready);
        } catch (e) {
          // folio.js imports the engine from a blob: URL, which the worker's script-src may refuse.
          return { ok: false, reason: `the SharedWorker could not load the engine: ${(e as Error).message}` };
        }
        shared.claim(hello.key);
        if (registry.size === 0 && hello.idleTimeoutMs !== undefined) idleMs = hello.idleTimeoutMs;
        tab = hello.tab;
        const label = registry.attach(tab);
        Comlink.expose(tabEngineApi(api, registry, shared, hello.tab), enginePort);
        if (hello.lock) void navigator.locks?.request(hello.lock, () => leave(hello.tab));
        return { ok: true, tab: label };
      },
      beat: () => {
        if (tab) registry.beat(tab);
      },
      bye: () => {
        if (tab) leave(tab);
      },
    };
    Comlink.expose(control, port);
  });
}
