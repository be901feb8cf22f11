/**
 * @module
 * The KV response cache: keys, TTLs and the read-through helper (see KEYS.md).
 */
export { cacheKey, type KeyParts } from './key'
export { cached, cachedText, clampTtl, type CachedOptions } from './cached'
export { TTL } from './ttl'
export { KV_LIMITS, type KVLike } from './kv'
