/** Folio's public API for pages: import from here. */
export { createEngine, type CreateEngineOptions, WorkerFolioEngine } from './createEngine.ts';
export { FolioEngine } from './FolioEngine.ts';
export type * from './openai.ts';
export type { BlockCell, EngineStats } from '../engine/events.ts';
export * from '../errors.ts';
