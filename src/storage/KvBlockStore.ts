import { sha256Hex } from '../model/sha256.ts';
import { isQuotaError, type KeyValueStore } from './KeyValueStore.ts';

/** A persisted KV block: K and V of all layers for one full, hashed block of a prompt prefix. */
export interface StoredBlock {
  hash: string;
  parent: string | null;
  tokens: Int32Array;
  /** [layer][K, V][kv heads, block size, head dim], f32. */
  data: Float32Array;
}

interface BlockMeta {
  fingerprint: string;
  hash: string;
  bytes: number;
  lastUsed: number;
  pinned: boolean;
}

interface BlockRecord {
  parent: string | null;
  tokens: Int32Array;
  data: Float32Array;
  sha256: string;
}

export interface KvBlockStoreOptions {
  /** Bytes of block data kept in all; least recently used blocks go first (pinned ones last). 64 MiB by default. */
  budgetBytes?: number;
  onWarning?: (message: string) => void;
}

export interface KvStoreSummary {
  fingerprint: string;
  blocks: number;
  bytes: number;
  pinned: number;
}

const metaKey = (fp: string, hash: string) => `m:${fp}:${hash}`;
const dataKey = (fp: string, hash: string) => `d:${fp}:${hash}`;

/** The SHA-256 of a block record: its tokens, its parent and its K/V bytes. */
async function checksum(parent: string | null, tokens: Int32Array, data: Float32Array): Promise<string> {
  const head = new TextEncoder().encode(`${parent ?? ''}\n`);
  const buf = new Uint8Array(head.length + tokens.byteLength + data.byteLength);
  buf.set(head, 0);
  buf.set(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), head.length);
  buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), head.length + tokens.byteLength);
  return sha256Hex(buf);
}

/**
 * Prefix-KV blocks in IndexedDB, keyed by (model fingerprint, chained block hash). A small
 * metadata record per block (size, last use, pinned) is kept apart from the data and mirrored
 * in memory, so the engine can ask "is it there?" without a read and the budget's LRU
 * eviction never loads block data. Every read is checked against its SHA-256; a bad entry is
 * dropped and reads as a miss.
 */
export class KvBlockStore {
  readonly budgetBytes: number;
  private index: Map<string, BlockMeta> | null = null;
  private loading: Promise<Map<string, BlockMeta>> | null = null;
  private disabled: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  readonly counters = { writes: 0, reads: 0, corrupt: 0, evicted: 0 };

  constructor(
    private readonly store: KeyValueStore,
    private readonly opts: KvBlockStoreOptions = {},
  ) {
    this.budgetBytes = opts.budgetBytes ?? 64 * 2 ** 20;
  }

  /** Why writes stopped (a full quota), if they did. */
  get warning(): string | null {
    return this.disabled;
  }

  /** Loads the metadata index once. */
  async ready(): Promise<void> {
    await this.load();
  }

  private load(): Promise<Map<string, BlockMeta>> {
    this.loading ??= (async () => {
      const index = new Map<string, BlockMeta>();
      try {
        const keys = (await this.store.keys()).filter((k) => k.startsWith('m:'));
        const metas = await this.store.getMany<BlockMeta>(keys);
        keys.forEach((k, i) => {
          const m = metas[i];
          if (m) index.set(k, m);
        });
      } catch {
        // An unreadable store is an empty one.
      }
      this.index = index;
      return index;
    })();
    return this.loading;
  }

  /** Whether a block is stored (after ready(); false before). */
  has(fingerprint: string, hash: string): boolean {
    return this.index?.has(metaKey(fingerprint, hash)) ?? false;
  }

  /**
   * The stored blocks of `hashes`, in order, up to the first one missing or failing its check
   * (a prefix is only usable up to its first gap). `firstParent` is the hash before `hashes[0]`.
   */
  async getChain(fingerprint: string, hashes: readonly string[], firstParent: string | null): Promise<StoredBlock[]> {
    const index = await this.load();
    const run: string[] = [];
    for (const h of hashes) {
      if (!index.has(metaKey(fingerprint, h))) break;
      run.push(h);
    }
    if (run.length === 0) return [];
    let records: (BlockRecord | undefined)[];
    try {
      records = await this.store.getMany<BlockRecord>(run.map((h) => dataKey(fingerprint, h)));
    } catch {
      return [];
    }
    const out: StoredBlock[] = [];
    for (let i = 0; i < run.length; i++) {
      const r = records[i];
      const parent = i === 0 ? firstParent : run[i - 1];
      if (!r || r.parent !== parent || (await checksum(r.parent, r.tokens, r.data)) !== r.sha256) {
        this.counters.corrupt++;
        this.opts.onWarning?.(`prefix-KV block ${run[i]} failed its checksum; it is dropped and will be recomputed`);
        await this.remove(fingerprint, run[i]);
        break;
      }
      out.push({ hash: run[i], parent: r.parent, tokens: r.tokens, data: r.data });
    }
    this.counters.reads += out.length;
    void this.touch(fingerprint, out.map((b) => b.hash));
    return out;
  }

  /** Stores blocks (queued: writes run one after another); a full quota stops writing with a warning. */
  put(fingerprint: string, blocks: StoredBlock[], pinned: boolean): Promise<void> {
    const run = this.queue.then(() => this.write(fingerprint, blocks, pinned));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every queued write is done. */
  async flush(): Promise<void> {
    for (let q = this.queue; ; q = this.queue) {
      await q;
      if (q === this.queue) return;
    }
  }

  private async write(fingerprint: string, blocks: StoredBlock[], pinned: boolean): Promise<void> {
    const index = await this.load();
    if (this.disabled) return;
    for (const b of blocks) {
      const key = metaKey(fingerprint, b.hash);
      const known = index.get(key);
      if (known) {
        if (pinned && !known.pinned) await this.setMeta(key, { ...known, pinned: true, lastUsed: Date.now() });
        continue;
      }
      const record: BlockRecord = { parent: b.parent, tokens: b.tokens, data: b.data, sha256: await checksum(b.parent, b.tokens, b.data) };
      const meta: BlockMeta = { fingerprint, hash: b.hash, bytes: b.data.byteLength + b.tokens.byteLength, lastUsed: Date.now(), pinned };
      await this.evictFor(meta.bytes);
      try {
        await this.store.set(dataKey(fingerprint, b.hash), record);
        await this.store.set(key, meta);
      } catch (e) {
        this.disabled = isQuotaError(e) ? 'the storage quota is full' : `IndexedDB refused a write (${(e as Error).message})`;
        this.opts.onWarning?.(`prefix-KV blocks are no longer persisted: ${this.disabled}`);
        try {
          await this.store.del(dataKey(fingerprint, b.hash));
        } catch {
          // Nothing more to do.
        }
        return;
      }
      index.set(key, meta);
      this.counters.writes++;
    }
  }

  private async setMeta(key: string, meta: BlockMeta): Promise<void> {
    try {
      await this.store.set(key, meta);
      this.index?.set(key, meta);
    } catch {
      // Metadata only.
    }
  }

  /** Evicts least recently used blocks (unpinned first) until `incoming` more bytes fit the budget. */
  private async evictFor(incoming: number): Promise<void> {
    const index = this.index!;
    let used = 0;
    for (const m of index.values()) used += m.bytes;
    if (used + incoming <= this.budgetBytes) return;
    const order = [...index.values()].sort((a, b) => Number(a.pinned) - Number(b.pinned) || a.lastUsed - b.lastUsed);
    for (const m of order) {
      if (used + incoming <= this.budgetBytes) break;
      await this.remove(m.fingerprint, m.hash);
      used -= m.bytes;
      this.counters.evicted++;
    }
  }

  private async touch(fingerprint: string, hashes: string[]): Promise<void> {
    const now = Date.now();
    for (const h of hashes) {
      const key = metaKey(fingerprint, h);
      const m = this.index?.get(key);
      if (m) await this.setMeta(key, { ...m, lastUsed: now });
    }
  }

  async remove(fingerprint: string, hash: string): Promise<void> {
    this.index?.delete(metaKey(fingerprint, hash));
    try {
      await this.store.delMany([metaKey(fingerprint, hash), dataKey(fingerprint, hash)]);
    } catch {
      // Gone from the index at least.
    }
  }

  async deleteModel(fingerprint: string): Promise<number> {
    const index = await this.load();
    const victims = [...index.values()].filter((m) => m.fingerprint === fingerprint);
    for (const m of victims) await this.remove(m.fingerprint, m.hash);
    return victims.length;
  }

  async clear(): Promise<void> {
    await this.load();
    this.index!.clear();
    await this.store.clear();
  }

  async summary(): Promise<KvStoreSummary[]> {
    const index = await this.load();
    const by = new Map<string, KvStoreSummary>();
    for (const m of index.values()) {
      const s = by.get(m.fingerprint) ?? { fingerprint: m.fingerprint, blocks: 0, bytes: 0, pinned: 0 };
      s.blocks++;
      s.bytes += m.bytes;
      if (m.pinned) s.pinned++;
      by.set(m.fingerprint, s);
    }
    return [...by.values()];
  }
}
