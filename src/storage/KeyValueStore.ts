import { clear, createStore, del, delMany, get, getMany, keys, set, type UseStore } from 'idb-keyval';

/**
 * The few async key-value operations the caches need. In a browser (page or worker) it is an
 * IndexedDB object store through idb-keyval; in Node tests, a Map.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: string[]): Promise<(T | undefined)[]>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  delMany(keys: string[]): Promise<void>;
  keys(): Promise<string[]>;
  clear(): Promise<void>;
}

/** An IndexedDB store. idb-keyval opens one object store per database, so each cache has its own database. */
export function idbStore(dbName: string, storeName = 'entries'): KeyValueStore {
  const store: UseStore = createStore(dbName, storeName);
  return {
    get: <T>(key: string) => get<T>(key, store),
    getMany: <T>(ks: string[]) => getMany<T>(ks, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    delMany: (ks) => delMany(ks, store),
    keys: async () => (await keys(store)).map(String),
    clear: () => clear(store),
  };
}

/** A store in memory: for Node, and for browsers without IndexedDB. Values are kept as given (no clone). */
export class MemoryStore implements KeyValueStore {
  readonly map = new Map<string, unknown>();
  async get<T>(key: string): Promise<T | undefined> {
    return this.map.get(key) as T | undefined;
  }
  async getMany<T>(ks: string[]): Promise<(T | undefined)[]> {
    return ks.map((k) => this.map.get(k) as T | undefined);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.map.set(key, value);
  }
  async del(key: string): Promise<void> {
    this.map.delete(key);
  }
  async delMany(ks: string[]): Promise<void> {
    for (const k of ks) this.map.delete(k);
  }
  async keys(): Promise<string[]> {
    return [...this.map.keys()];
  }
  async clear(): Promise<void> {
    this.map.clear();
  }
}

/** Bytes a value takes, roughly: binary payloads exactly, everything else by its JSON length. */
export function sizeOf(value: unknown): number {
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value && typeof value === 'object') {
    let n = 0;
    for (const v of Object.values(value)) n += sizeOf(v);
    return n + 16;
  }
  return typeof value === 'string' ? value.length * 2 : 8;
}

export function quotaError(message = 'the storage quota is exhausted'): Error {
  return typeof DOMException === 'function' ? new DOMException(message, 'QuotaExceededError') : Object.assign(new Error(message), { name: 'QuotaExceededError' });
}

/** IndexedDB reports a full disk or origin quota as a QuotaExceededError (a DOMException). */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

/**
 * A store whose writes fail with QuotaExceededError once `quotaBytes` have been written
 * through it: a small, deterministic quota for tests (a real one depends on the disk).
 */
export function withQuota(inner: KeyValueStore, quotaBytes: number): KeyValueStore {
  let written = 0;
  return {
    ...bind(inner),
    async set(key, value) {
      const n = sizeOf(value);
      if (written + n > quotaBytes) throw quotaError(`simulated quota of ${quotaBytes} bytes exceeded`);
      written += n;
      await inner.set(key, value);
    },
  };
}

function bind(s: KeyValueStore): KeyValueStore {
  return {
    get: (k) => s.get(k),
    getMany: (ks) => s.getMany(ks),
    set: (k, v) => s.set(k, v),
    del: (k) => s.del(k),
    delMany: (ks) => s.delMany(ks),
    keys: () => s.keys(),
    clear: () => s.clear(),
  };
}
