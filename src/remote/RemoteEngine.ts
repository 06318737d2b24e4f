import type { PinResult } from '../engine/Engine.ts';
import type { BlockCell, CacheHandle } from '../engine/events.ts';
import { EngineClosedError, FolioError, InvalidParamsError } from '../errors.ts';
import { guardHandle } from '../api/guardHandle.ts';
import { Lifetime } from '../api/Lifetime.ts';
import type { ChatMessageParam } from '../api/openai.ts';
import { RemoteClient } from './RemoteClient.ts';
import { type RemoteEndpoint, type ResolvedEndpoint, resolveEndpoint } from './RemoteEndpoint.ts';
import { RemoteCounters, type RemoteStats } from './remoteStats.ts';
import { checkServed } from './servedModels.ts';
import { SignalledChatCompletions, SignalledTextCompletions } from './signalledCompletions.ts';

/** What a remote engine is connected to, and why 'auto' chose it where it did. */
export interface RemoteInfo {
  backend: 'remote';
  baseURL: string;
  model: string;
  /** Why `backend: 'auto'` fell back to the remote endpoint (the local load's error), if it did. */
  fallbackReason: string | null;
}

/** The server and model requests go to now, and their life (ended by reload, unload, dispose). */
interface Slot {
  client: RemoteClient;
  life: Lifetime;
}

/**
 * FolioEngine's surface over an OpenAI-compatible HTTP server (vLLM, llama.cpp's server, a
 * proxy): chat and text completions, streaming or not, with n, stop, seed, logprobs,
 * AbortSignal and usage, shaped by the same code as a local engine's responses. What belongs to
 * a local engine says so: kvMap() is empty (the KV cache is the server's), pinPrefix() and the
 * IndexedDB cache are refused by name. stats() counts requests, tokens and latency.
 */
export class RemoteEngine {
  readonly chat: { completions: SignalledChatCompletions };
  readonly completions: SignalledTextCompletions;
  readonly cache: CacheHandle;
  private slot: Slot;
  private readonly counters = new RemoteCounters();
  private disposed = false;

  /** Connects without checking the server; createEngine({ backend: 'remote' }) checks it first. */
  constructor(endpoint: RemoteEndpoint, private readonly fallbackReason: string | null = null) {
    this.slot = this.open(resolveEndpoint(endpoint));
    const handleFor = (signal?: AbortSignal) => guardHandle(this.slot.client.handle(signal), this.slot.life);
    this.chat = { completions: new SignalledChatCompletions(handleFor) };
    this.completions = new SignalledTextCompletions(handleFor);
    const none = () => this.live(() => Promise.reject(new InvalidParamsError('cache', 'a remote engine has no IndexedDB cache: the model lives on the server')));
    this.cache = { list: () => this.live(() => Promise.resolve([])), delete: none, clear: none };
  }

  get info(): RemoteInfo {
    const e = this.slot.client.endpoint;
    return { backend: 'remote', baseURL: e.baseURL, model: e.model, fallbackReason: this.fallbackReason };
  }

  /** Requests, the server's token counts, and the latency seen from here. */
  async stats(): Promise<RemoteStats> {
    return this.live(async () => this.counters.snapshot(this.info.baseURL, this.info.model));
  }

  /** Empty: the KV cache is on the server, which does not show it (vLLM reports its use on /metrics). */
  async kvMap(): Promise<BlockCell[]> {
    return this.live(async () => []);
  }

  async pinPrefix(_input: string | ChatMessageParam[]): Promise<PinResult> {
    return this.live(() => Promise.reject(new InvalidParamsError('pinPrefix', "a remote engine has no KV cache here to pin a prefix in; the server caches prefixes itself (vLLM: --enable-prefix-caching)")));
  }

  async flushStorage(): Promise<void> {
    return this.live(async () => {});
  }

  /**
   * Switches to another model the same server serves (`model`), or another server with
   * `opts.baseURL`. It is checked first (a ConfigError if the server does not list it, and the
   * engine stays as it was); then requests still streaming from the old one end with
   * EngineClosedError (reason 'reloaded').
   */
  async reload(model: string, opts: Partial<RemoteEndpoint> = {}): Promise<void> {
    if (this.disposed) throw new EngineClosedError('disposed', 'the engine was disposed');
    const endpoint = resolveEndpoint({ ...this.slot.client.endpoint, ...opts, model });
    await checkServed(endpoint);
    if (this.disposed) throw new EngineClosedError('disposed', 'the engine was disposed');
    this.retire(this.open(endpoint), new EngineClosedError('reloaded', `the engine was reloaded with ${model}; this request ran on the model before`));
  }

  /** Ends the requests in flight; calls reject with EngineClosedError ('unloaded') until reload(model). */
  async unload(): Promise<void> {
    if (this.disposed) return;
    this.retire(this.closed(new EngineClosedError('unloaded', 'no model is loaded (engine.unload() was called): call engine.reload(model) to load one')), new EngineClosedError('unloaded', 'the engine was unloaded'));
  }

  /** Closes every connection; pending calls and streams reject with EngineClosedError, and so does every later call. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const error = new EngineClosedError('disposed', 'the engine was disposed');
    this.retire(this.closed(error), error);
  }

  private open(endpoint: ResolvedEndpoint): Slot {
    const client = new RemoteClient(endpoint, this.counters);
    const life = new Lifetime();
    life.onEnd(() => client.closeAll());
    return { client, life };
  }

  /** A slot every call to which rejects with `error`. */
  private closed(error: EngineClosedError): Slot {
    const slot = this.open(this.slot.client.endpoint);
    slot.life.end(error);
    return slot;
  }

  private retire(next: Slot, error: FolioError): void {
    const old = this.slot;
    this.slot = next;
    old.life.end(error);
  }

  /** `call()`, or the error the engine's model ended with. */
  private live<T>(call: () => Promise<T>): Promise<T> {
    return this.slot.life.guard(call);
  }
}

/** Checks the server and model, then connects (createEngine's `backend: 'remote'`). */
export async function connectRemote(endpoint: RemoteEndpoint, fallbackReason: string | null = null): Promise<RemoteEngine> {
  await checkServed(resolveEndpoint(endpoint));
  return new RemoteEngine(endpoint, fallbackReason);
}
