import type { BlockCell, EngineHandle, EngineStats } from '../engine/events.ts';
import { ChatCompletions, TextCompletions } from './Completions.ts';

/**
 * What a page holds: OpenAI's `chat.completions.create` and `completions.create`, plus
 * Folio's `stats()` and `kvMap()`. The engine behind it runs in a worker (createEngine) or,
 * in Node, in the same thread.
 */
export class FolioEngine {
  readonly chat: { completions: ChatCompletions };
  readonly completions: TextCompletions;

  constructor(
    private readonly handle: EngineHandle,
    private readonly onDispose: () => void = () => {},
  ) {
    this.chat = { completions: new ChatCompletions(handle) };
    this.completions = new TextCompletions(handle);
  }

  /** KV accounting, prefix hit rate, tokens per second. */
  async stats(): Promise<EngineStats> {
    return this.handle.stats();
  }

  /** One cell per KV block, for a memory map. */
  async kvMap(): Promise<BlockCell[]> {
    return this.handle.blockMap();
  }

  /** Stops the worker and frees the GPU. */
  dispose(): void {
    this.onDispose();
  }
}
