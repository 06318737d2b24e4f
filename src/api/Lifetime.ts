import type { FolioError } from '../errors.ts';

/**
 * An engine's life on the page. When it ends (dispose, a worker that stopped) every call and
 * stream still waiting settles with one typed error, and every later call rejects with it at
 * once: a worker that is gone answers nothing, so without this they would wait forever.
 */
export class Lifetime {
  private ending: FolioError | null = null;
  private readonly listeners = new Set<(error: FolioError) => void>();

  /** The error the engine ended with; null while it lives. */
  get ended(): FolioError | null {
    return this.ending;
  }

  /** Calls `listener` when the engine ends (at once if it has); the returned function unsubscribes. */
  onEnd(listener: (error: FolioError) => void): () => void {
    if (this.ending) {
      listener(this.ending);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `call()`'s result, or a rejection with the ending error if the engine ends first (or has). */
  guard<T>(call: () => T | Promise<T>): Promise<T> {
    if (this.ending) return Promise.reject(this.ending);
    return new Promise<T>((resolve, reject) => {
      const off = this.onEnd(reject);
      let result: Promise<T>;
      try {
        result = Promise.resolve(call());
      } catch (e) {
        result = Promise.reject(e);
      }
      result.then(resolve, reject).finally(off);
    });
  }

  /** Ends the engine; the first error wins. */
  end(error: FolioError): void {
    if (this.ending) return;
    this.ending = error;
    for (const listener of [...this.listeners]) listener(error);
    this.listeners.clear();
  }
}
