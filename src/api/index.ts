/** Folio's public API for pages: import from here. */
export { createEngine, type CreateEngineOptions, type CreateEngineWithFallback, type RemoteEngineOptions, WorkerFolioEngine } from './createEngine.ts';
export { RemoteEngine, type RemoteInfo } from '../remote/RemoteEngine.ts';
export type { RemoteEndpoint } from '../remote/RemoteEndpoint.ts';
export type { RemoteStats } from '../remote/remoteStats.ts';
export { FolioEngine } from './FolioEngine.ts';
export type * from './openai.ts';
export type { BlockCell, CacheHandle, EngineStats } from '../engine/events.ts';
export type { PinResult } from '../engine/Engine.ts';
export type { CacheOptions, LoadEvent, LoadedInfo } from '../engine/WorkerApi.ts';
export type { CachedModel } from '../storage/cacheAdmin.ts';
export * from '../errors.ts';
