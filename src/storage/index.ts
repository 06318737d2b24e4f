/** IndexedDB caches: model weights (CachedSource) and prefix-KV blocks (KvBlockStore). */
export { CachedSource, type CachedSourceOptions } from './CachedSource.ts';
export type { DownloadProgress } from './LoadProgress.ts';
export { type CachedFile, manifestKey, type ModelManifest } from './ModelManifest.ts';
export { idbStore, isQuotaError, type KeyValueStore, MemoryStore, quotaError, sizeOf, withQuota } from './KeyValueStore.ts';
export { KvBlockStore, type KvBlockStoreOptions, type KvStoreSummary, type StoredBlock } from './KvBlockStore.ts';
export { type CachedModel, listCachedModels, deleteCachedModel } from './cacheAdmin.ts';
