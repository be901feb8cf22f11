/**
 * @module
 * The KV response cache: keys, TTLs and the read-through helper (see KEYS.md).
 */
export { cacheKey, type KeyParts } from './key'
export { cached, cachedOrProduced, cachedText, clampTtl, readFresh, readKept, staleKey, storeText, writeKept, type CachedOptions, type Stale, type StaleIfError } from './cached'
export { STALE_IF_ERROR, TTL } from './ttl'
export { KV_LIMITS, type KVLike } from './kv'
export { imageSizes, imageSizeKey, type ImageSize, type ImageSizes } from './image-sizes'
export { readTexts, KV_BULK_KEYS } from './kv-bulk'
