/**
 * @module
 * Read-through KV cache for JSON values; KV trouble degrades to "no cache", never to an error.
 * With `staleIfError`, a value is kept past its TTL and answers (marked stale, with its age) when
 * producing it again fails the way the caller says (the upstream down), as RFC 5861's
 * stale-if-error: never for a value holding a URL that expires.
 */

import { KV_LIMITS, type KVLike } from './kv'

/** Keep a value past its TTL, to answer with when producing it again fails. */
export interface StaleIfError {
  /** Seconds the value is kept after its TTL (its KV expiration is TTL + this). */
  seconds: number
  /** Failures a stale value may answer (e.g. the upstream unavailable); others propagate. */
  when: (error: unknown) => boolean
}

export interface CachedOptions {
  /**
   * Runs the KV write after the response (pass `p => ctx.waitUntil(p)`); without it the write is
   * awaited. Either way a failed write is swallowed.
   */
  defer?: (p: Promise<unknown>) => void
  /** Keep the value past its TTL and answer it when producing fails ({@link StaleIfError}). */
  staleIfError?: StaleIfError
}

/** A value answered past its TTL: seconds since it was produced (for an `Age` header). */
export interface Stale {
  ageSeconds: number
}

/** The metadata a value kept for stale-if-error is written with: when it was produced (ms). */
interface WrittenAt {
  written: number
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
export async function cached<T>(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<T>, opts: CachedOptions = {}): Promise<{ value: T; hit: boolean; stale?: Stale }> {
  const entry = await read(kv, key, ttlSeconds, opts)
  let kept: { value: T; ageSeconds: number } | undefined
  if (entry !== null) {
    try {
      const value = JSON.parse(entry.text) as T
      if (entry.ageSeconds === undefined) return { value, hit: true }
      kept = { value, ageSeconds: entry.ageSeconds }
    } catch {
      // A corrupt entry: answer from the source, and overwrite it.
    }
  }
  let value: T
  try {
    value = await produce()
  } catch (error) {
    if (kept && opts.staleIfError?.when(error)) return { value: kept.value, hit: true, stale: { ageSeconds: kept.ageSeconds } }
    throw error
  }
  const json = JSON.stringify(value)
  if (json !== undefined) await write(kv, key, json, ttlSeconds, opts)
  return { value, hit: false }
}

/**
 * {@link cached} for a value that is already JSON text: stored and answered as is, never parsed
 * (a multi-megabyte answer skips a parse and a stringify on each side of the cache).
 */
export async function cachedText(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<string>, opts: CachedOptions = {}): Promise<{ text: string; hit: boolean; stale?: Stale }> {
  const entry = await read(kv, key, ttlSeconds, opts)
  if (entry !== null && entry.ageSeconds === undefined) return { text: entry.text, hit: true }
  let fresh: string
  try {
    fresh = await produce()
  } catch (error) {
    if (entry !== null && opts.staleIfError?.when(error)) return { text: entry.text, hit: true, stale: { ageSeconds: entry.ageSeconds! } }
    throw error
  }
  await write(kv, key, fresh, ttlSeconds, opts)
  return { text: fresh, hit: false }
}

/**
 * A value kept for long and read on its own (no produce): its text and age, or null. For a fact that
 * never changes, written with {@link writeKept} beside a shorter-lived answer holding it.
 *
 * @example
 * const size = await readKept(env.CACHE, sizeKey) // { text: '{"width":4032,"height":3024}', ageSeconds: 420 } | null
 */
export async function readKept(kv: KVLike | undefined, key: string): Promise<{ text: string; ageSeconds: number } | null> {
  const entry = await readEntry(kv, key)
  if (entry === null) return null
  return { text: entry.text, ageSeconds: entry.written === undefined ? 0 : ageOf(entry.written) }
}

/**
 * Stores `text` for `ttlSeconds` with the time it was written (for {@link readKept}'s age); best
 * effort like every write here.
 *
 * @example
 * await writeKept(env.CACHE, sizeKey, JSON.stringify({ width, height }), TTL.imageSize, { defer })
 */
export async function writeKept(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: Pick<CachedOptions, 'defer'> = {}): Promise<void> {
  await write(kv, key, text, ttlSeconds, { ...opts, staleIfError: { seconds: 0, when: () => false } })
}

/**
 * The stored text, or null when absent or KV is unbound or unreachable (no cache, never an error).
 * `ageSeconds` is set when the entry is past `ttlSeconds` (kept for stale-if-error), else undefined.
 */
async function read(kv: KVLike | undefined, key: string, ttlSeconds: number, opts: CachedOptions): Promise<{ text: string; ageSeconds?: number } | null> {
  if (!opts.staleIfError) {
    if (!kv) return null
    try {
      const text = await kv.get(key, 'text')
      return text === null ? null : { text }
    } catch {
      return null
    }
  }
  const entry = await readEntry(kv, key)
  if (entry === null) return null
  // Entries written before stale-if-error carry no time: fresh until KV expires them.
  if (entry.written === undefined) return { text: entry.text }
  const age = ageOf(entry.written)
  return age < ttlSeconds ? { text: entry.text } : { text: entry.text, ageSeconds: age }
}

/** The text and the time it was written (when its metadata says), or null. */
async function readEntry(kv: KVLike | undefined, key: string): Promise<{ text: string; written?: number } | null> {
  if (!kv) return null
  try {
    if (!kv.getWithMetadata) {
      const text = await kv.get(key, 'text')
      return text === null ? null : { text }
    }
    const { value, metadata } = await kv.getWithMetadata(key, 'text')
    if (value === null) return null
    const written = (metadata as Partial<WrittenAt> | null)?.written
    return typeof written === 'number' && Number.isFinite(written) ? { text: value, written } : { text: value }
  } catch {
    return null
  }
}

/** Whole seconds since `written` (ms), never negative. */
function ageOf(written: number): number {
  return Math.max(0, Math.floor((Date.now() - written) / 1000))
}

/** Stores `text` unless it is over KV's value limit; awaited, or handed to `opts.defer`. */
async function write(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: CachedOptions): Promise<void> {
  if (!kv || !fitsInKv(text)) return
  const put = (async () => {
    try {
      if (opts.staleIfError) {
        // Kept past its TTL, with the time it was written: fresh or stale is decided on reading.
        const metadata: WrittenAt = { written: Date.now() }
        await kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds + opts.staleIfError.seconds), metadata })
      } else {
        await kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds) })
      }
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
