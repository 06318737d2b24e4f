/// <reference lib="webworker" />
import workerSource from 'virtual:folio-engine-worker-source';
import type { WorkerApi } from '../engine/WorkerApi.ts';
import { serveSharedEngine } from '../shared/sharedHost.ts';
import { OWN_SCRIPT, trusted } from './engineWorker.ts';

/**
 * folio.js's shared engines: the SharedWorker runs folio.js itself (the same URL in every tab,
 * which is what lets the browser share it; a blob: URL is new in each tab), and folio.js, finding
 * itself in a SharedWorker, imports the inlined engine worker from a blob and serves it to tabs.
 */
export function createSharedEngineWorker(name: string): SharedWorker {
  if (!OWN_SCRIPT) throw new Error('folio.js was not loaded by a <script src> tag, so it has no URL to run a SharedWorker from');
  return new SharedWorker(trusted(OWN_SCRIPT), { name });
}

export function inSharedWorker(): boolean {
  return typeof SharedWorkerGlobalScope === 'function' && globalThis instanceof SharedWorkerGlobalScope;
}

/** In the SharedWorker: the engine, imported from the inlined source, served to every tab. */
export function hostSharedEngine(): void {
  const url = URL.createObjectURL(new Blob(['URL.revokeObjectURL(import.meta.url);', workerSource], { type: 'text/javascript' }));
  const engine = import(/* @vite-ignore */ url).then((m: { api: WorkerApi }) => m.api);
  serveSharedEngine(globalThis as unknown as SharedWorkerGlobalScope, engine);
}
