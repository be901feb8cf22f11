/**
 * @module
 * Read-through KV cache for JSON values; KV trouble degrades to "no cache", never to an error.
 */

import { KV_LIMITS, type KVLike } from './kv'

export interface CachedOptions {
  /**
   * Runs the KV write after the response (pass `p => ctx.waitUntil(p)`); without it the write is
   * awaited. Either way a failed write is swallowed.
   */
  defer?: (p: Promise<unknown>) => void
}

/**
 * Answers `key` from KV, or runs `produce`, stores its JSON for `ttlSeconds` (at least 60) and
 * answers that. With no KV bound, it just produces. Errors from `produce` propagate and are not
 * cached.
 *
 * @example
 * const key = await cacheKey('img-detections', { id })
 * const { value, hit } = await cached(env.CACHE, key, TTL.detections,
 *   () => client.get(`/${id}/detections`, { fields: 'id,value,geometry' }), { defer: (p) => ctx.waitUntil(p) })
 */
export async function cached<T>(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<T>, opts: CachedOptions = {}): Promise<{ value: T; hit: boolean }> {
  const text = await read(kv, key)
  if (text !== null) {
    try {
      return { value: JSON.parse(text) as T, hit: true }
    } catch {
      // A corrupt entry: answer from the source, and overwrite it.
    }
  }
  const value = await produce()
  const json = JSON.stringify(value)
  if (json !== undefined) await write(kv, key, json, ttlSeconds, opts)
  return { value, hit: false }
}

/**
 * {@link cached} for a value that is already JSON text: stored and answered as is, never parsed
 * (a multi-megabyte answer skips a parse and a stringify on each side of the cache).
 */
export async function cachedText(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<string>, opts: CachedOptions = {}): Promise<{ text: string; hit: boolean }> {
  const text = await read(kv, key)
  if (text !== null) return { text, hit: true }
  const fresh = await produce()
  await write(kv, key, fresh, ttlSeconds, opts)
  return { text: fresh, hit: false }
}

/** The stored text, or null when absent or KV is unbound or unreachable (no cache, never an error). */
async function read(kv: KVLike | undefined, key: string): Promise<string | null> {
  if (!kv) return null
  try {
    return await kv.get(key, 'text')
  } catch {
    return null
  }
}

/** Stores `text` unless it is over KV's value limit; awaited, or handed to `opts.defer`. */
async function write(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: CachedOptions): Promise<void> {
  if (!kv || !fitsInKv(text)) return
  const put = (async () => {
    try {
      await kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds) })
    } catch {
      // Best effort: a lost write costs one more upstream round trip later, nothing more.
    }
  })()
  if (opts.defer) opts.defer(put)
  else await put
}

/** Whole seconds, at least KV's minimum of 60. */
export function clampTtl(ttlSeconds: number): number {
  return Number.isFinite(ttlSeconds) ? Math.max(KV_LIMITS.minTtlSeconds, Math.ceil(ttlSeconds)) : KV_LIMITS.minTtlSeconds
}

function fitsInKv(text: string): boolean {
  const max = KV_LIMITS.maxValueBytes
  // UTF-8 takes 1..3 bytes per UTF-16 unit: only encode when the length alone can't decide.
  if (text.length * 3 <= max) return true
  if (text.length > max) return false
  return new TextEncoder().encode(text).byteLength <= max
}
