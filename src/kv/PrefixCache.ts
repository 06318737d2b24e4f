import type { BlockPool } from './BlockPool.ts';
import type { BlockId, BlockTable } from './BlockTable.ts';
import { type BlockHash, hashBlock, type SaltDigest, saltDigest } from './hash.ts';

/**
 * The hashes of a token sequence's full blocks, each chained to the one before. Only grows:
 * a sequence only appends tokens, so hashes once computed stay valid (even across preemption).
 */
export class HashChain {
  readonly hashes: BlockHash[] = [];
  constructor(readonly salt: SaltDigest, readonly saltKey: string) {}

  /** A copy for a forked sequence, which shares every token so far. */
  clone(): HashChain {
    const c = new HashChain(this.salt, this.saltKey);
    c.hashes.push(...this.hashes);
    return c;
  }
}

/** What the cache remembers of a hashed block, to check a hit instead of trusting the hash. */
export interface CachedBlock {
  block: BlockId;
  parent: BlockHash | null;
  saltKey: string;
  tokens: Int32Array;
}

export interface PrefixCacheStats {
  /** Admissions that looked their prompt up. */
  lookups: number;
  /** Full blocks those lookups asked for, and how many were found. */
  queriedBlocks: number;
  hitBlocks: number;
}

/**
 * Content addressing of full blocks: hash = H(parent_hash, the block's token ids, salt), where
 * the salt is the model fingerprint plus an optional user cache salt, so that KV computed by
 * one model (or for one user) is never served to another.
 */
export class PrefixCache {
  private readonly byHash = new Map<BlockHash, CachedBlock>();
  private readonly salts = new Map<string, HashChain>();
  private counters: PrefixCacheStats = { lookups: 0, queriedBlocks: 0, hitBlocks: 0 };

  constructor(
    private readonly pool: BlockPool,
    readonly blockSize: number,
    readonly modelFingerprint: string,
  ) {
    pool.onEvict((block, hash) => {
      if (this.byHash.get(hash)?.block === block) this.byHash.delete(hash);
    });
  }

  get size(): number {
    return this.byHash.size;
  }

  /** An empty chain for sequences under this model and the given user salt. */
  newChain(cacheSalt?: string): HashChain {
    // NUL separates the two parts so that ("ab", "c") and ("a", "bc") differ.
    const key = cacheSalt === undefined ? this.modelFingerprint : `${this.modelFingerprint}\u0000${cacheSalt}`;
    let template = this.salts.get(key);
    if (!template) {
      template = new HashChain(saltDigest(key), key);
      this.salts.set(key, template);
    }
    return new HashChain(template.salt, template.saltKey);
  }

  /** Hashes every full block of `tokens` that the chain does not cover yet. */
  extend(chain: HashChain, tokens: readonly number[]): void {
    const bs = this.blockSize;
    const full = Math.floor(tokens.length / bs);
    for (let i = chain.hashes.length; i < full; i++) {
      const parent = i === 0 ? null : chain.hashes[i - 1];
      chain.hashes.push(hashBlock(parent, chain.salt, tokens, i * bs, (i + 1) * bs));
    }
  }

  /**
   * Walks the full blocks of `tokens` (their chain extended first) and returns the cached
   * blocks of the longest prefix whose tokens, parent and salt all match. Nothing is retained.
   */
  lookup(chain: HashChain, tokens: readonly number[]): BlockId[] {
    this.extend(chain, tokens);
    const hits: BlockId[] = [];
    for (let i = 0; i < chain.hashes.length; i++) {
      const entry = this.byHash.get(chain.hashes[i]);
      if (!entry || !this.matches(entry, chain, i, tokens)) break;
      hits.push(entry.block);
    }
    return hits;
  }

  /** Counts an admission's lookup; the scheduler calls it once per admitted sequence. */
  recordLookup(queriedBlocks: number, hitBlocks: number): void {
    this.counters.lookups++;
    this.counters.queriedBlocks += queriedBlocks;
    this.counters.hitBlocks += hitBlocks;
  }

  stats(): PrefixCacheStats {
    return { ...this.counters };
  }

  /**
   * After a step has written their KV, hashes the table's newly full blocks and registers them.
   * A block whose hash is already cached on another block stays unhashed: the first copy wins
   * and the duplicate is freed like any private block.
   */
  commit(table: BlockTable, chain: HashChain, tokens: readonly number[]): void {
    const full = table.numFullBlocks;
    // A pruned table's later blocks attended to a pruned context: no hash chain stands for them.
    if (table.pruned || table.numHashed >= full) return;
    if (tokens.length < full * this.blockSize) throw new RangeError(`${table.owner} holds more positions than tokens`);
    this.extend(chain, tokens);
    const bs = this.blockSize;
    for (let i = table.numHashed; i < full; i++) {
      const block = table.blocks[i];
      const hash = chain.hashes[i];
      if (hash === undefined) throw new Error(`no hash for block ${i} of ${table.owner}`);
      if (this.pool.hashOf(block) !== undefined || this.byHash.has(hash)) continue;
      this.byHash.set(hash, {
        block,
        parent: i === 0 ? null : chain.hashes[i - 1],
        saltKey: chain.saltKey,
        tokens: Int32Array.from(tokens.slice(i * bs, (i + 1) * bs)),
      });
      this.pool.setHash(block, hash);
    }
    table.numHashed = full;
  }

  /**
   * Registers a held block whose KV was written from elsewhere (a prefix block restored from
   * IndexedDB) under `hash`; the caller then releases it, and it waits as a cached free block
   * for admission to hit. False (and nothing changes) when the hash or the block is taken.
   */
  register(block: BlockId, hash: BlockHash, parent: BlockHash | null, saltKey: string, tokens: ArrayLike<number>): boolean {
    if (tokens.length !== this.blockSize) throw new RangeError(`a block holds ${this.blockSize} tokens, got ${tokens.length}`);
    if (this.byHash.has(hash) || this.pool.hashOf(block) !== undefined) return false;
    this.pool.setHash(block, hash);
    this.byHash.set(hash, { block, parent, saltKey, tokens: Int32Array.from(tokens) });
    return true;
  }

  /** What a hash was registered with (for checks, persistence and the memory map). */
  entry(hash: BlockHash): Readonly<CachedBlock> | undefined {
    return this.byHash.get(hash);
  }

  private matches(entry: CachedBlock, chain: HashChain, i: number, tokens: readonly number[]): boolean {
    const parent = i === 0 ? null : chain.hashes[i - 1];
    if (entry.parent !== parent || entry.saltKey !== chain.saltKey) return false;
    if (this.pool.hashOf(entry.block) !== chain.hashes[i]) return false;
    const base = i * this.blockSize;
    for (let j = 0; j < this.blockSize; j++) if (entry.tokens[j] !== tokens[base + j]) return false;
    return true;
  }
}
