import type { PinResult } from '../engine/Engine.ts';
import type { BlockCell, CacheHandle, EngineHandle, EngineStats } from '../engine/events.ts';
import { EngineClosedError, FolioError } from '../errors.ts';
import { chatMessages } from './chatMessages.ts';
import type { ChatMessageParam } from './openai.ts';
import { ChatCompletions, TextCompletions } from './Completions.ts';
import { guardHandle } from './guardHandle.ts';
import { Lifetime } from './Lifetime.ts';

/**
 * What a page holds: OpenAI's `chat.completions.create` and `completions.create`, plus
 * Folio's `stats()` and `kvMap()`. The engine behind it runs in a worker (createEngine) or,
 * in Node, in the same thread.
 */
export class FolioEngine {
  readonly chat: { completions: ChatCompletions };
  readonly completions: TextCompletions;
  /** What IndexedDB holds: `list()`, `delete(model)`, `clear()` (weights and prefix-KV blocks). */
  readonly cache: CacheHandle;

  private readonly handle: EngineHandle;

  /**
   * `life` ends when the engine goes away (dispose here; a stopped worker in createEngine):
   * everything pending then settles with its typed error.
   */
  constructor(
    handle: EngineHandle,
    private readonly onDispose: () => void = () => {},
    private readonly life: Lifetime = new Lifetime(),
  ) {
    this.handle = handle = guardHandle(handle, life);
    this.chat = { completions: new ChatCompletions(handle) };
    this.completions = new TextCompletions(handle);
    const none = async (): Promise<never> => {
      throw new FolioError('INVALID_PARAMS', 'this engine has no IndexedDB cache');
    };
    this.cache = handle.cache ?? { list: async () => [], delete: none, clear: none };
  }

  /**
   * Declares a shared prompt prefix (a system prompt, as text or messages): computes its KV
   * if needed and persists its full blocks in IndexedDB, so that after a reload a prompt
   * starting with it prefills only the rest. Messages are read as a request's are (a
   * `developer` message is a system one), so that the pinned tokens are the request's.
   */
  async pinPrefix(input: string | ChatMessageParam[]): Promise<PinResult> {
    if (!this.handle.pinPrefix) throw new FolioError('INVALID_PARAMS', 'this engine cannot pin prefixes');
    return this.handle.pinPrefix(typeof input === 'string' ? input : chatMessages(input));
  }

  /** Resolves when prefix blocks queued for IndexedDB are written. */
  async flushStorage(): Promise<void> {
    await this.handle.flushStorage?.();
  }

  /** KV accounting, prefix hit rate, tokens per second. */
  async stats(): Promise<EngineStats> {
    return this.handle.stats();
  }

  /** One cell per KV block, for a memory map. */
  async kvMap(): Promise<BlockCell[]> {
    return this.handle.blockMap();
  }

  /**
   * Stops the worker and frees the GPU. Streams and calls still pending reject with
   * EngineClosedError, and so does every call after.
   */
  dispose(): void {
    if (this.life.ended) return;
    this.life.end(new EngineClosedError('disposed', 'the engine was disposed'));
    this.onDispose();
  }
}
