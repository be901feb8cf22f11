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
 * const key = await cacheKey('seq-ids', { sequence_id })
 * const { value, hit } = await cached(env.CACHE, key, TTL.sequenceImageIds,
 *   () => client.get('/image_ids', { sequence_id }), { defer: (p) => ctx.waitUntil(p) })
 */
export async function cached<T>(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<T>, opts: CachedOptions = {}): Promise<{ value: T; hit: boolean }> {
  if (kv) {
    try {
      const text = await kv.get(key, 'text')
      if (text !== null) return { value: JSON.parse(text) as T, hit: true }
    } catch {
      // KV unreachable or a corrupt entry: answer from the source instead.
    }
  }
  const value = await produce()
  if (kv) {
    const text = JSON.stringify(value)
    if (text !== undefined && fitsInKv(text)) {
      const write = (async () => {
        try {
          await kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds) })
        } catch {
          // Best effort: a lost write costs one more upstream round trip later, nothing more.
        }
      })()
      if (opts.defer) opts.defer(write)
      else await write
    }
  }
  return { value, hit: false }
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
