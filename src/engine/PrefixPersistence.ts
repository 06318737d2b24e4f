import type { BlockHash } from '../kv/hash.ts';
import type { KvCache } from '../kv/KvCache.ts';
import type { KvBlockStore, StoredBlock } from '../storage/KvBlockStore.ts';
import type { EngineStats } from './events.ts';
import type { ForwardBackend } from './ForwardBackend.ts';

export interface PrefixPersistenceOptions {
  fingerprint: string;
  /** Prompts that must contain a block before it is persisted; 2 by default. */
  persistAfterHits?: number;
  onWarning?: (message: string) => void;
}

/**
 * Prefix-KV blocks that outlive the page: full, hashed blocks of popular or pinned prefixes
 * are read back from the device and written to IndexedDB in the background; a prompt whose
 * prefix the device lacks but IndexedDB holds gets those blocks uploaded instead of computed.
 */
export class PrefixPersistence {
  /** Prompts seen per block hash, toward the persistence threshold. */
  private readonly seen = new Map<BlockHash, number>();
  /** Blocks to persist once they are on the device: hash -> pinned. */
  private readonly wanted = new Map<BlockHash, boolean>();
  private chain: Promise<void> = Promise.resolve();
  private restored = 0;

  constructor(
    private kv: KvCache,
    private backend: ForwardBackend,
    readonly store: KvBlockStore,
    private readonly opts: PrefixPersistenceOptions,
  ) {}

  /** Moves to a rebuilt device: its KV cache is empty, IndexedDB still holds what it held. */
  rebind(kv: KvCache, backend: ForwardBackend): void {
    this.kv = kv;
    this.backend = backend;
  }

  /** How many of these hashes IndexedDB holds. */
  countStored(hashes: readonly BlockHash[]): number {
    return hashes.filter((h) => this.store.has(this.opts.fingerprint, h)).length;
  }

  /**
   * Counts the prompt's full blocks toward persistence (all of them when pinned), and uploads
   * the ones the device lacks but IndexedDB holds, as cached free blocks. Returns how many.
   */
  async restore(prompt: readonly number[], pinned: boolean): Promise<number> {
    const { store, kv } = this;
    const fp = this.opts.fingerprint;
    const chain = kv.prefix.newChain();
    kv.prefix.extend(chain, prompt);
    const threshold = this.opts.persistAfterHits ?? 2;
    // A rough bound on the bookkeeping: counts restart rather than grow forever.
    if (this.seen.size > 1 << 16) this.seen.clear();
    for (const h of chain.hashes) {
      const n = (this.seen.get(h) ?? 0) + 1;
      this.seen.set(h, n);
      if (pinned || n >= threshold) this.wanted.set(h, pinned || (this.wanted.get(h) ?? false));
    }
    await store.ready();
    const onDevice = kv.prefix.lookup(chain, prompt).length;
    if (onDevice >= chain.hashes.length || !store.has(fp, chain.hashes[onDevice])) return 0;
    const blocks = await store.getChain(fp, chain.hashes.slice(onDevice), onDevice === 0 ? null : chain.hashes[onDevice - 1]);
    // The device may have changed while IndexedDB answered: look again.
    const hits = kv.prefix.lookup(chain, prompt);
    const bs = kv.blockSize;
    const usable: StoredBlock[] = [];
    for (const b of blocks) {
      const i = chain.hashes.indexOf(b.hash);
      if (i < hits.length) continue;
      if (i !== hits.length + usable.length) break;
      if (b.tokens.some((t, j) => t !== prompt[i * bs + j])) break;
      usable.push(b);
    }
    const pool = kv.pool;
    // Hold the device's hits meanwhile, so that allocating does not evict them.
    for (const b of hits) pool.retain(b);
    const ids: number[] = [];
    try {
      const n = Math.min(usable.length, pool.numFree);
      if (n === 0 || !this.backend.writeBlocks) return 0;
      for (let i = 0; i < n; i++) ids.push(pool.allocate());
      const per = usable[0].data.length;
      const data = new Float32Array(n * per);
      for (let i = 0; i < n; i++) data.set(usable[i].data, i * per);
      await this.backend.writeBlocks(ids, data);
      let registered = 0;
      for (let i = 0; i < n; i++) {
        const idx = hits.length + i;
        if (!kv.prefix.register(ids[i], usable[i].hash, idx === 0 ? null : chain.hashes[idx - 1], chain.saltKey, usable[i].tokens)) break;
        pool.markPersisted(ids[i]);
        registered++;
      }
      this.restored += registered;
      return registered;
    } catch (e) {
      this.opts.onWarning?.(`prefix-KV blocks could not be restored: ${(e as Error).message}`);
      return 0;
    } finally {
      pool.releaseChain(ids);
      pool.releaseChain(hits);
    }
  }

  /**
   * Queues the wanted blocks that are now on the device for IndexedDB: their K/V are read back
   * now (ordered before any later step), and written in the background; the step loop never
   * waits for it.
   */
  persistWanted(): void {
    const { store, kv } = this;
    if (this.wanted.size === 0 || !this.backend.readBlocks) return;
    const fp = this.opts.fingerprint;
    const todo: { block: number; hash: BlockHash; parent: BlockHash | null; tokens: Int32Array; pinned: boolean }[] = [];
    for (const [hash, pinned] of this.wanted) {
      const entry = kv.prefix.entry(hash);
      if (!entry || kv.pool.hashOf(entry.block) !== hash) continue;
      this.wanted.delete(hash);
      if (store.has(fp, hash) && !pinned) {
        kv.markPersisted(entry.block);
        continue;
      }
      todo.push({ block: entry.block, hash, parent: entry.parent, tokens: Int32Array.from(entry.tokens), pinned });
    }
    if (todo.length === 0) return;
    const read = this.backend.readBlocks(todo.map((t) => t.block));
    this.chain = this.chain
      .then(async () => {
        const data = await read;
        const per = data.length / todo.length;
        for (const pinned of [true, false]) {
          const group = todo.map((t, i) => ({ t, i })).filter(({ t }) => t.pinned === pinned);
          if (group.length === 0) continue;
          await store.put(fp, group.map(({ t, i }) => ({ hash: t.hash, parent: t.parent, tokens: t.tokens, data: data.slice(i * per, (i + 1) * per) })), pinned);
        }
        for (const t of todo) {
          if (kv.pool.hashOf(t.block) === t.hash && store.has(fp, t.hash)) kv.markPersisted(t.block);
        }
      })
      .catch((e: unknown) => this.opts.onWarning?.(`prefix-KV blocks were not persisted: ${(e as Error).message}`));
  }

  /**
   * After IndexedDB was cleared or a model deleted from it: blocks marked persisted whose
   * entry is gone lose the mark, so the KV map and stats say what the store really holds.
   */
  forgetRemoved(): void {
    const pool = this.kv.pool;
    for (let b = 0; b < pool.numBlocks; b++) {
      const hash = pool.hashOf(b);
      if (pool.isPersisted(b) && (hash === undefined || !this.store.has(this.opts.fingerprint, hash))) pool.unmarkPersisted(b);
    }
  }

  /** Resolves when every queued block write is in IndexedDB. */
  async flush(): Promise<void> {
    for (let q = this.chain; ; q = this.chain) {
      await q;
      if (q === this.chain) break;
    }
    await this.store.flush();
  }

  stats(): NonNullable<EngineStats['persistence']> {
    const c = this.store.counters;
    return { blocksWritten: c.writes, blocksRestored: this.restored, corrupt: c.corrupt, warning: this.store.warning };
  }
}
