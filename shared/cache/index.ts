/**
 * @module
 * Entry point of the KV response cache; the same exports as ./kv-cache.
 */
export * from './kv-cache'
