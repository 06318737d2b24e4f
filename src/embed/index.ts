/**
 * The script-tag entry (`folio.js`, an IIFE built by vite.embed.config.ts): `window.Folio`
 * with `createEngine` and the error classes, and the `<folio-chat>` custom element. The engine
 * worker is inlined in the script (a blob URL), so a page needs no bundler and its server no
 * configuration.
 */
import { createEngine as createWorkerEngine, type CreateEngineOptions, type WorkerFolioEngine } from '../api/index.ts';
import { createEngineWorker } from './engineWorker.ts';
import { defineFolioChat } from './FolioChat.ts';
import { createSharedEngineWorker, hostSharedEngine, inSharedWorker } from './sharedEngineWorker.ts';

export * from '../errors.ts';
export { FolioChat } from './FolioChat.ts';

/** Like the module API's createEngine, with the inlined worker unless `worker` is given; `shared` runs folio.js itself as the SharedWorker. */
export async function createEngine(opts: CreateEngineOptions): Promise<WorkerFolioEngine> {
  const shared = opts.shared === true ? {} : opts.shared;
  // A factory, not a worker: reload() starts a fresh worker for each model.
  return createWorkerEngine({ ...opts, worker: opts.worker ?? createEngineWorker, shared: shared && { ...shared, worker: shared.worker ?? createSharedEngineWorker } });
}

if (inSharedWorker()) hostSharedEngine();
else defineFolioChat(createEngine);
