import { BlockPool } from './BlockPool.ts';
import { type BlockId, BlockTable } from './BlockTable.ts';
import { blockSnapshot, type BlockSnapshot, kvStats, type KvStats } from './KvAccounting.ts';
import { PrefixCache } from './PrefixCache.ts';

export interface KvCacheOptions {
  numBlocks: number;
  /** Tokens per block; 16 by default, as in vLLM. */
  blockSize?: number;
  /** Salts every block hash so that KV from one model is never served to another. */
  modelFingerprint: string;
}

/**
 * The whole paged KV cache as the scheduler sees it: the block pool, the prefix cache over it,
 * and the block tables alive (so that accounting can name each block's owners).
 */
export class KvCache {
  readonly blockSize: number;
  readonly pool: BlockPool;
  readonly prefix: PrefixCache;
  private readonly tables = new Set<BlockTable>();

  constructor(opts: KvCacheOptions) {
    this.blockSize = opts.blockSize ?? 16;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${this.blockSize}`);
    this.pool = new BlockPool(opts.numBlocks);
    this.prefix = new PrefixCache(this.pool, this.blockSize, opts.modelFingerprint);
  }

  get numBlocks(): number {
    return this.pool.numBlocks;
  }

  createTable(owner: string): BlockTable {
    const t = new BlockTable(owner, this.blockSize);
    this.tables.add(t);
    return t;
  }

  forkTable(table: BlockTable, owner: string): BlockTable {
    const t = table.fork(owner, this.pool);
    this.tables.add(t);
    return t;
  }

  /** Frees a table's blocks and forgets the table. */
  dropTable(table: BlockTable): void {
    table.free(this.pool);
    this.tables.delete(table);
  }

  liveTables(): IterableIterator<BlockTable> {
    return this.tables.values();
  }

  markPersisted(block: BlockId): void {
    this.pool.markPersisted(block);
  }

  stats(): KvStats {
    return kvStats(this.pool, this.prefix.stats(), this.tables, this.blockSize);
  }

  snapshot(): BlockSnapshot[] {
    return blockSnapshot(this.pool, this.tables);
  }
}
