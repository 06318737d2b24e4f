import { AbortError } from '../errors.ts';
import type { EngineEvent } from '../engine/events.ts';

/**
 * Turns a request's pushed event batches into an async iterator. Leaving a for-await loop
 * early (break, throw) or the AbortSignal firing cancels the request in the engine.
 */
export class EventStream implements AsyncIterable<EngineEvent> {
  private readonly queue: EngineEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  onCancel: () => void = () => {};

  constructor(private readonly signal?: AbortSignal) {
    signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  push = (events: EngineEvent[]): void => {
    this.queue.push(...events);
    this.wake?.();
  };

  private cancel(): void {
    if (this.ended) return;
    this.onCancel();
    this.queue.push({ type: 'error', error: new AbortError() });
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    try {
      for (;;) {
        while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
        const ev = this.queue.shift()!;
        if (ev.type === 'error') {
          this.ended = true;
          throw ev.error;
        }
        yield ev;
        if (ev.type === 'done') {
          this.ended = true;
          return;
        }
      }
    } finally {
      // The consumer stopped early: free the request's blocks now, not when it would have ended.
      if (!this.ended) {
        this.ended = true;
        this.onCancel();
      }
    }
  }
}
