/// <reference lib="webworker" />
// The shared engine's home: one SharedWorker per model and options (its name says which),
// serving every tab of the origin that asks for them (src/shared/startShared.ts).
import { api } from '../../workers/engine.worker.ts';
import { serveSharedEngine } from './sharedHost.ts';

serveSharedEngine(self as unknown as SharedWorkerGlobalScope, api);
