import type { BlockPool } from './BlockPool.ts';
import type { BlockId, BlockTable } from './BlockTable.ts';
import type { BlockHash } from './hash.ts';
import type { PrefixCacheStats } from './PrefixCache.ts';

/** Memory accounting of the KV pool, for logs, benchmarks and the UI. */
export interface KvStats {
  blockSize: number;
  blocksTotal: number;
  /** Held by at least one sequence. blocksUsed + blocksFree === blocksTotal. */
  blocksUsed: number;
  /** Allocatable now, cached ones included. */
  blocksFree: number;
  /** The free blocks that still hold a hashed prefix a later prompt can revive. */
  blocksCachedFree: number;
  /** Held by more than one sequence (a shared prefix, or a fork). */
  blocksShared: number;
  /** Hashed blocks marked as saved to IndexedDB. */
  blocksPersisted: number;
  /** Distinct positions held in used blocks (a shared block counts once). */
  tokensStored: number;
  /** Positions summed over sequences: what the pool would hold without sharing. */
  tokensLogical: number;
  /** Positions held in cached free blocks. */
  tokensCached: number;
  /** Slots of used blocks that hold no token: the cost of paging (mostly last blocks). */
  slotsWasted: number;
  prefix: PrefixCacheStats & { hitRate: number };
}

export type BlockState = 'free' | 'cached' | 'held' | 'shared';

/** One cell of the UI's memory map. */
export interface BlockSnapshot {
  id: BlockId;
  state: BlockState;
  /** Owners (sequence ids) of the tables that hold the block. */
  owners: string[];
  hash?: BlockHash;
  persisted?: boolean;
  /** The first block of a table that evicted or shifted: kept as its attention sink. */
  sink?: boolean;
  /** Free, evicted by a KV budget or a context shift, not reused yet. */
  evicted?: boolean;
}

/** Positions of table block `index` that are filled. */
function filledIn(table: BlockTable, index: number): number {
  return Math.max(0, Math.min(table.blockSize, table.numTokens - index * table.blockSize));
}

export function kvStats(pool: BlockPool, prefix: PrefixCacheStats, tables: Iterable<BlockTable>, blockSize: number): KvStats {
  const filled = new Int32Array(pool.numBlocks);
  let tokensLogical = 0;
  for (const t of tables) {
    tokensLogical += t.numTokens;
    t.blocks.forEach((b, i) => {
      filled[b] = Math.max(filled[b], filledIn(t, i));
    });
  }
  let cached = 0;
  let shared = 0;
  let persisted = 0;
  let tokensStored = 0;
  for (let b = 0; b < pool.numBlocks; b++) {
    const refs = pool.refCount(b);
    if (refs === 0 && pool.hashOf(b) !== undefined) cached++;
    if (refs > 1) shared++;
    if (pool.isPersisted(b)) persisted++;
    if (refs > 0) tokensStored += filled[b];
  }
  return {
    blockSize,
    blocksTotal: pool.numBlocks,
    blocksUsed: pool.numUsed,
    blocksFree: pool.numFree,
    blocksCachedFree: cached,
    blocksShared: shared,
    blocksPersisted: persisted,
    tokensStored,
    tokensLogical,
    tokensCached: cached * blockSize,
    slotsWasted: pool.numUsed * blockSize - tokensStored,
    prefix: { ...prefix, hitRate: prefix.queriedBlocks === 0 ? 0 : prefix.hitBlocks / prefix.queriedBlocks },
  };
}

export function blockSnapshot(pool: BlockPool, tables: Iterable<BlockTable>): BlockSnapshot[] {
  const owners: string[][] = Array.from({ length: pool.numBlocks }, () => []);
  const sinks = new Set<BlockId>();
  for (const t of tables) {
    for (const b of t.blocks) owners[b].push(t.owner);
    if (t.pruned && t.blocks.length > 0) sinks.add(t.blocks[0]);
  }
  return owners.map((o, id) => {
    const refs = pool.refCount(id);
    const hash = pool.hashOf(id);
    const state: BlockState = refs === 0 ? (hash === undefined ? 'free' : 'cached') : refs === 1 ? 'held' : 'shared';
    const cell: BlockSnapshot = { id, state, owners: o };
    if (hash !== undefined) cell.hash = hash;
    if (pool.isPersisted(id)) cell.persisted = true;
    if (sinks.has(id)) cell.sink = true;
    if (pool.isEvicted(id)) cell.evicted = true;
    return cell;
  });
}
