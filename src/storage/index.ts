/** IndexedDB caches: model weights (CachedSource) and prefix-KV blocks (KvBlockStore). */
export { CachedSource, type CachedFile, type CachedSourceOptions, type DownloadProgress, type ModelManifest, manifestKey } from './CachedSource.ts';
export { idbStore, isQuotaError, type KeyValueStore, MemoryStore, quotaError, sizeOf, withQuota } from './KeyValueStore.ts';
export { KvBlockStore, type KvBlockStoreOptions, type KvStoreSummary, type StoredBlock } from './KvBlockStore.ts';
export { type CachedModel, listCachedModels, deleteCachedModel } from './cacheAdmin.ts';
