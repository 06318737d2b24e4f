import type { PinResult } from '../engine/Engine.ts';
import type { BlockCell, CacheHandle, EngineHandle, EngineStats } from '../engine/events.ts';
import { AbortError, EngineClosedError, FolioError, InvalidParamsError } from '../errors.ts';
import { chatMessages } from './chatMessages.ts';
import type { ChatMessageParam } from './openai.ts';
import { ChatCompletions, TextCompletions } from './Completions.ts';
import type { ReloadOptions } from './createEngine.ts';
import { guardHandle } from './guardHandle.ts';
import { Lifetime } from './Lifetime.ts';
import { type LoadedModel, type ModelSlot, closedSlot, modelSlot, switchHandle } from './modelSlot.ts';

/**
 * What a page holds: OpenAI's `chat.completions.create` and `completions.create`, plus
 * Folio's `stats()` and `kvMap()`. The engine behind it runs in a worker (createEngine) or,
 * in Node, in the same thread. A worker engine can change its model: `reload(model)`, `unload()`.
 */
export class FolioEngine {
  readonly chat: { completions: ChatCompletions };
  readonly completions: TextCompletions;
  /** What IndexedDB holds: `list()`, `delete(model)`, `clear()` (weights and prefix-KV blocks). */
  readonly cache: CacheHandle;

  /** The model requests go to now (a closed one after unload() or dispose()). */
  private slot: ModelSlot;
  private serial = 0;
  /** The reload() in progress, ended (AbortError) when a later reload(), unload() or dispose() supersedes it. */
  private loading: Lifetime | null = null;
  private disposed = false;

  /**
   * `life` ends when the engine goes away (dispose here; a stopped worker in createEngine):
   * everything pending then settles with its typed error.
   */
  constructor(handle: EngineHandle, onDispose: () => void = () => {}, life: Lifetime = new Lifetime()) {
    this.slot = modelSlot(this.serial, guardHandle(handle, life), life, onDispose);
    const routed = switchHandle(() => this.slot);
    this.chat = { completions: new ChatCompletions(routed) };
    this.completions = new TextCompletions(routed);
    const none = async (): Promise<never> => {
      throw new FolioError('INVALID_PARAMS', 'this engine has no IndexedDB cache');
    };
    this.cache = {
      list: () => (this.slot.handle.cache ? this.slot.handle.cache.list() : this.slot.life.ended ? Promise.reject(this.slot.life.ended) : Promise.resolve([])),
      delete: (model) => (this.slot.handle.cache ? this.slot.handle.cache.delete(model) : this.slot.life.ended ? Promise.reject(this.slot.life.ended) : none()),
      clear: () => (this.slot.handle.cache ? this.slot.handle.cache.clear() : this.slot.life.ended ? Promise.reject(this.slot.life.ended) : none()),
    };
  }

  /**
   * Declares a shared prompt prefix (a system prompt, as text or messages): computes its KV
   * if needed and persists its full blocks in IndexedDB, so that after a reload a prompt
   * starting with it prefills only the rest. Messages are read as a request's are (a
   * `developer` message is a system one), so that the pinned tokens are the request's.
   */
  async pinPrefix(input: string | ChatMessageParam[]): Promise<PinResult> {
    const handle = this.slot.handle;
    if (!handle.pinPrefix) {
      if (this.slot.life.ended) throw this.slot.life.ended;
      throw new FolioError('INVALID_PARAMS', 'this engine cannot pin prefixes');
    }
    return handle.pinPrefix(typeof input === 'string' ? input : chatMessages(input));
  }

  /** Resolves when prefix blocks queued for IndexedDB are written. */
  async flushStorage(): Promise<void> {
    if (this.slot.life.ended) throw this.slot.life.ended;
    await this.slot.handle.flushStorage?.();
  }

  /** KV accounting, prefix hit rate, tokens per second. */
  async stats(): Promise<EngineStats> {
    return this.slot.handle.stats();
  }

  /** One cell per KV block, for a memory map. */
  async kvMap(): Promise<BlockCell[]> {
    return this.slot.handle.blockMap();
  }

  /**
   * Loads `model` (another one, or the same again, e.g. on another backend) into this engine,
   * in a fresh worker, with createEngine's options overridden by `opts` for this load.
   *
   * By default the new model loads first while the old one keeps serving; then requests switch
   * to it, and the old one's streams and calls still pending end with EngineClosedError
   * (reason 'reloaded') and its worker and GPU memory are freed. Both models are in memory
   * during the load. If the load fails, reload() rejects with the load's error and the old
   * model stays loaded and usable. With `{ unloadFirst: true }` (WebLLM's order: half the
   * peak memory) the old model is unloaded first; a failed load then leaves the engine unloaded.
   *
   * A later reload(), unload() or dispose() during the load cancels it: it rejects with
   * AbortError. An engine built in this thread (Node) cannot reload: InvalidParamsError.
   */
  async reload(model: string, opts: ReloadOptions = {}): Promise<void> {
    if (this.disposed) throw this.slot.life.ended ?? new EngineClosedError('disposed', 'the engine was disposed');
    if (typeof model !== 'string' || model === '') throw new InvalidParamsError('model', 'reload() needs a model URL');
    this.cancelLoading();
    const loading = new Lifetime();
    this.loading = loading;
    if (opts.unloadFirst) {
      this.retire(
        new EngineClosedError('reloaded', `the engine is reloading with ${model}; this request ran on the model before`),
        new EngineClosedError('unloaded', `no model is loaded while reload(${model}) runs (unloadFirst), nor if it fails: wait for reload() to resolve`),
      );
    }
    let next: LoadedModel;
    try {
      next = await this.loadModel(model, opts, loading);
    } finally {
      if (this.loading === loading) this.loading = null;
    }
    if (loading.ended || this.disposed) {
      // Superseded while the load finished: the new model is not wanted.
      next.free();
      throw loading.ended ?? new AbortError('reload() was cancelled by dispose()');
    }
    const old = this.slot;
    this.slot = modelSlot(++this.serial, guardHandle(next.handle, loading), loading, next.free);
    this.adopted(next);
    old.life.end(new EngineClosedError('reloaded', `the engine was reloaded with ${model}; this request ran on the model before`));
    old.free();
  }

  /**
   * Frees the model, its worker and GPU memory, like dispose(), but the engine can load one
   * again with reload(model). Until then calls reject with EngineClosedError (reason
   * 'unloaded'), as do the streams and calls pending now; a reload() in progress is cancelled.
   */
  async unload(): Promise<void> {
    if (this.disposed) return;
    this.cancelLoading();
    this.retire(new EngineClosedError('unloaded', 'no model is loaded (engine.unload() was called): call engine.reload(model) to load one'));
  }

  /**
   * Stops the worker and frees the GPU. Streams and calls still pending reject with
   * EngineClosedError, and so does every call after.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelLoading(new AbortError('reload() was cancelled by dispose()'));
    this.retire(new EngineClosedError('disposed', 'the engine was disposed'));
  }

  /**
   * Loads `model` for reload(): a guarded-free handle to it and how to free it. `life` ends
   * if the load is cancelled; the load must then reject and free what it made. Here (an
   * engine in this thread) there is no way to load another model.
   */
  protected loadModel(_model: string, _opts: ReloadOptions, _life: Lifetime): Promise<LoadedModel> {
    return Promise.reject(new InvalidParamsError('reload', 'this engine runs in this thread (new FolioEngine); only an engine from createEngine can reload or load another model'));
  }

  /** Called when reload() switches to `loaded` (a subclass keeps its info). */
  protected adopted(_loaded: LoadedModel): void {}

  /** Ends the current model with `error` (its pending calls reject with it; later ones with `later`) and frees it. */
  private retire(error: EngineClosedError, later: EngineClosedError = error): void {
    const old = this.slot;
    this.slot = closedSlot(++this.serial, later);
    old.life.end(error);
    old.free();
  }

  private cancelLoading(error = new AbortError('reload() was superseded by a later reload() or unload()')): void {
    this.loading?.end(error);
    this.loading = null;
  }
}
