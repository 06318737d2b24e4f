import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { RemoteEngine } from '../../src/remote/RemoteEngine.ts';
import { cpuEngine } from '../engine/engineHarness.ts';
import { folioServer } from './folioServer.ts';

/** What a page holds, local or remote: the OpenAI-style surface and the engine's lifecycle. */
export type PageEngine = Pick<FolioEngine, 'chat' | 'completions' | 'dispose'>;

/** One way to run the same page code: its engine, the engine that generates, and how to make another. */
export interface Backend {
  api: PageEngine;
  /** The Folio engine whose model generates (in this thread, or behind the server). */
  engine: Engine;
  /** A new page engine over the same model (for tests that dispose it). */
  fresh(): PageEngine;
  close(): Promise<void>;
}

/** The CPU engine on stories260K, in this thread. */
export async function localBackend(): Promise<Backend> {
  const { engine, api } = await cpuEngine();
  return { api, engine, fresh: () => new FolioEngine(engine), close: async () => {} };
}

/** A RemoteEngine against a vLLM-shaped server (folioServer.ts) whose generations come from the same CPU engine. */
export async function remoteBackend(): Promise<Backend> {
  const { engine, api: backing } = await cpuEngine();
  const server = await folioServer(backing, 'stories260K');
  const connect = () => new RemoteEngine({ baseURL: server.baseURL, model: 'stories260K' });
  return { api: connect(), engine, fresh: connect, close: () => server.close() };
}
