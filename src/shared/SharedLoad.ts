import type { LoadedInfo, LoadEvent, WorkerLoadOptions } from '../engine/WorkerApi.ts';
import { InvalidParamsError } from '../errors.ts';

/**
 * The one load of a shared engine: the first tab's load() loads the model; a tab arriving
 * during or after it waits for the same load and loads nothing. A failed load is forgotten,
 * so that the next tab tries again. The engine serves one model and one set of options
 * (its `key`): a tab asking for others is refused by name.
 */
export class SharedLoad {
  private pending: Promise<LoadedInfo> | null = null;
  private key: string | null = null;

  constructor(private readonly load: (opts: WorkerLoadOptions, onProgress?: (p: LoadEvent) => void) => Promise<LoadedInfo>) {}

  /** Throws unless `key` is this engine's (the first key seen is). */
  claim(key: string): void {
    this.key ??= key;
    if (key !== this.key) {
      throw new InvalidParamsError('shared', `this SharedWorker serves another model or other options (${this.key}), not ${key}: engines are keyed by both, so this is a name collision; pass shared: false`);
    }
  }

  /** The model, loaded by this call or an earlier one; `attached`: by an earlier one. */
  async get(opts: WorkerLoadOptions, onProgress?: (p: LoadEvent) => void): Promise<{ info: LoadedInfo; attached: boolean }> {
    if (this.pending) return { info: await this.pending, attached: true };
    const loading = this.load(opts, onProgress);
    this.pending = loading;
    try {
      return { info: await loading, attached: false };
    } catch (e) {
      if (this.pending === loading) this.pending = null;
      throw e;
    }
  }
}
