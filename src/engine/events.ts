import type { ChatMessage, CompletionFinishReason, TokenLogprob, Usage } from '../api/openai.ts';
import type { CachedModel } from '../storage/cacheAdmin.ts';
import type { SerializedError } from '../api/errorTransfer.ts';
import type { PinResult } from './Engine.ts';

/** What the engine streams to a request's sink, in order; `done` (or `error`) comes last. */
export type EngineEvent =
  | { type: 'delta'; choice: number; text: string; logprobs: TokenLogprob[] | null }
  | { type: 'finish'; choice: number; reason: CompletionFinishReason }
  | { type: 'done'; usage: Usage }
  | { type: 'error'; error: Error };

/** Receives a request's events, a step's worth at a time (one message per step across a worker). */
export type EventSink = (events: EngineEvent[]) => void;

/**
 * An event as it crosses the worker: an error travels as data (src/api/errorTransfer.ts), since
 * structured clone would keep neither its class, nor its name, nor its code.
 */
export type WireEvent = Exclude<EngineEvent, { type: 'error' }> | { type: 'error'; error: SerializedError };
export type WireSink = (events: WireEvent[]) => void;

export interface EngineStats {
  backend: 'cpu' | 'webgpu';
  adapter: string;
  model: string;
  blockSize: number;
  kv: {
    blocksTotal: number;
    blocksUsed: number;
    blocksCachedFree: number;
    blocksFree: number;
    blocksShared: number;
    tokensStored: number;
    slotsWasted: number;
    /** Fraction of allocated slots that hold tokens. */
    utilization: number;
  };
  prefix: { lookups: number; hits: number; hitRate: number; cachedPromptTokens: number };
  requests: { running: number; waiting: number; finished: number; preemptions: number };
  tokens: { prompt: number; generated: number; decodeTokensPerSecond: number; prefillTokensPerSecond: number };
  steps: number;
  /** Speculative decoding's totals over every request that speculated (as `usage.speculative`). */
  speculative: { drafted_tokens: number; accepted_tokens: number; target_forwards: number };
  /** GPU devices lost so far (each one rebuilt, unless a later request says it could not be). */
  deviceLosses: number;
  /** The weights' formats ("Q4_0 31 · F16 5 · F32 11") and the bytes they take on the backend. */
  weights?: { formats: string; deviceBytes: number };
  /** Prefix blocks in IndexedDB; absent without a prefix store. */
  persistence?: { blocksWritten: number; blocksRestored: number; corrupt: number; warning: string | null };
}

/** One cell of the KV memory map. */
export interface BlockCell {
  state: 'free' | 'cached' | 'held' | 'shared';
  /** Request ids holding the block. */
  owners: string[];
  persisted: boolean;
  /** Kept as an attention sink by a request that evicted or shifted its KV. */
  sink?: boolean;
  /** Free, evicted by a request's KV budget or context shift, not reused yet. */
  evicted?: boolean;
}

/** What the OpenAI-style surface needs from an engine, in-process or behind Comlink. */
export interface EngineHandle {
  /** Validates synchronously (typed errors), then streams events to `sink`; returns the request id. */
  generate(params: unknown, sink: EventSink): string | Promise<string>;
  abort(requestId: string): void | Promise<void>;
  stats(): EngineStats | Promise<EngineStats>;
  blockMap(): BlockCell[] | Promise<BlockCell[]>;
  modelName(): string | Promise<string>;
  /** Computes (or restores) a shared prefix and persists its full blocks. */
  pinPrefix?(input: string | ChatMessage[]): Promise<PinResult>;
  flushStorage?(): Promise<void>;
  /** The IndexedDB caches (a worker engine has them). */
  cache?: CacheHandle;
}

/** `engine.cache`: what IndexedDB holds. */
export interface CacheHandle {
  list(): Promise<CachedModel[]>;
  /** Deletes a model's weights and its prefix-KV blocks; false when it was not cached. */
  delete(model: string): Promise<boolean>;
  clear(): Promise<void>;
}
