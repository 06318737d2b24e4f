/** The paged KV cache: pure bookkeeping of blocks, hashes and tables; the GPU holds the data. */
export { type ForwardBatch, type SequenceChunk, blocksFor, cacheStartOf, slotOf } from './batch.ts';
export { BlockPool, type EvictListener } from './BlockPool.ts';
export { BlockTable, type BlockId, type CopyPair, type KeyShift, appendCost, isWritable } from './BlockTable.ts';
export { type BlockHash, hashBlock, murmur3x86_128, saltDigest } from './hash.ts';
export { type BlockSnapshot, type BlockState, type KvStats, blockSnapshot, kvStats } from './KvAccounting.ts';
export { KvCache, type KvCacheOptions } from './KvCache.ts';
export { type CachedBlock, HashChain, PrefixCache, type PrefixCacheStats } from './PrefixCache.ts';
export { copyPlanViolation } from './copyPlan.ts';
