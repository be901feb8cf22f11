/**
 * @module
 * Read-through KV cache for JSON values; KV trouble degrades to "no cache", never to an error.
 * With `staleIfError`, a second copy of the value (`stale:<key>`) outlives its TTL and answers,
 * marked stale with its age, when producing the value again fails the way the caller says (the
 * upstream down), as RFC 5861's stale-if-error: never for a value holding a URL that expires.
 * A many-megabyte answer its producer stores itself (a box's: {@link storeText}) is one entry
 * instead, fresh for its TTL and its own stale copy after ({@link cachedOrProduced}).
 */

import { KV_LIMITS, type KVLike } from './kv'

/** Keep a copy of the value past its TTL, to answer with when producing it again fails. */
export interface StaleIfError {
  /** Seconds the copy outlives the value (its KV expiration is TTL + this). */
  seconds: number
  /** Failures the copy may answer (e.g. the upstream unavailable); others propagate. */
  when: (error: unknown) => boolean
}

export interface CachedOptions {
  /**
   * Runs the KV write after the response (pass `p => ctx.waitUntil(p)`); without it the write is
   * awaited. Either way a failed write is swallowed.
   */
  defer?: (p: Promise<unknown>) => void
  /** Keep a copy past the TTL and answer it when producing fails ({@link StaleIfError}). */
  staleIfError?: StaleIfError
}

/** A value answered past its TTL: seconds since it was produced (for an `Age` header). */
export interface Stale {
  ageSeconds: number
}

/** The metadata a kept value is written with: when it was produced (ms), and its tag when it has one. */
interface WrittenAt {
  written: number
  etag?: string
}

/**
 * The key of `key`'s stale copy: the same key under `stale:`, so listing a kind's prefix never
 * finds the copies, and whatever names the value (its kind, its identity) names the copy.
 *
 * @example
 * staleKey('mf-bbox:v1:5cba…') // 'stale:mf-bbox:v1:5cba…'
 */
export function staleKey(key: string): string {
  return `stale:${key}`
}

/**
 * Answers `key` from KV, or runs `produce`, stores its JSON for `ttlSeconds` (at least 60) and
 * answers that. With no KV bound, it just produces. Errors from `produce` propagate and are not
 * cached, unless `opts.staleIfError` says a kept copy may answer them (then `stale` is set).
 *
 * @example
 * const key = await cacheKey('img-detections', { id })
 * const { value, hit } = await cached(env.CACHE, key, TTL.detections,
 *   () => client.get(`/${id}/detections`, { fields: 'id,value,geometry' }), { defer: (p) => ctx.waitUntil(p) })
 */
export async function cached<T>(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<T>, opts: CachedOptions = {}): Promise<{ value: T; hit: boolean; stale?: Stale }> {
  const text = await read(kv, key)
  if (text !== null) {
    try {
      return { value: JSON.parse(text) as T, hit: true }
    } catch {
      // A corrupt entry: answer from the source, and overwrite it.
    }
  }
  let value: T
  try {
    value = await produce()
  } catch (error) {
    const kept = await keptFor(kv, key, error, opts)
    if (kept) {
      try {
        return { value: JSON.parse(kept.text) as T, hit: true, stale: { ageSeconds: kept.ageSeconds } }
      } catch {
        // A corrupt copy answers nothing.
      }
    }
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
  const text = await read(kv, key)
  if (text !== null) return { text, hit: true }
  let fresh: string
  try {
    fresh = await produce()
  } catch (error) {
    const kept = await keptFor(kv, key, error, opts)
    if (kept) return { text: kept.text, hit: true, stale: { ageSeconds: kept.ageSeconds } }
    throw error
  }
  await write(kv, key, fresh, ttlSeconds, opts)
  return { text: fresh, hit: false }
}

/**
 * {@link cachedText} for an answer whose producer stores it itself once it has sent it (a Durable
 * Object streaming a many-megabyte answer, then writing it with {@link storeText}): the stored
 * text and its tag while fresh (written at most `ttlSeconds` ago), else what `produce` gave;
 * nothing is written here. Past its freshness the entry is the stale copy: a failure
 * `staleIfError` accepts is answered with it, marked stale with its age.
 *
 * @example
 * const out = await cachedOrProduced(env.CACHE, key, TTL.mapFeaturesBbox, () => stub.runBody(params, token, { cacheKey: key }), { staleIfError })
 * // out.hit ? answerJson(out.text, …) : answerBody(out.produced.body, …)
 */
export async function cachedOrProduced<T>(kv: KVLike | undefined, key: string, ttlSeconds: number, produce: () => Promise<T>, opts: Pick<CachedOptions, 'staleIfError'> = {}): Promise<({ hit: true; text: string; etag?: string; stale?: Stale }) | { hit: false; produced: T }> {
  const kept = await readKept(kv, key)
  if (kept && kept.ageSeconds <= ttlSeconds) return { hit: true, ...tagged(kept) }
  try {
    return { hit: false, produced: await produce() }
  } catch (error) {
    if (kept && opts.staleIfError?.when(error)) return { hit: true, ...tagged(kept), stale: { ageSeconds: kept.ageSeconds } }
    throw error
  }
}

/**
 * The text {@link storeText} stored under `key` and its tag while fresh (written at most
 * `ttlSeconds` ago), else null.
 *
 * @example
 * const fresh = await readFresh(env.CACHE, key, TTL.mapFeaturesBbox)
 */
export async function readFresh(kv: KVLike | undefined, key: string, ttlSeconds: number): Promise<{ text: string; etag?: string } | null> {
  const kept = await readKept(kv, key)
  return kept && kept.ageSeconds <= ttlSeconds ? tagged(kept) : null
}

/** A kept value's text and tag, without its age. */
function tagged({ ageSeconds: _age, ...text }: { text: string; ageSeconds: number; etag?: string }): { text: string; etag?: string } {
  return text
}

/**
 * Stores `text` for {@link cachedOrProduced}: one entry, fresh for `ttlSeconds` after it was
 * written, then (with `staleSeconds`) its own stale copy for that much longer; its metadata says
 * when it was written, and its tag. One entry, not a value and a `stale:` copy: an answer of many
 * megabytes is written once. Best effort: never rejects.
 *
 * @example
 * ctx.waitUntil(sent.then(() => storeText(env.CACHE, key, text, TTL.mapFeaturesBbox, { staleSeconds, etag })))
 */
export async function storeText(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: { staleSeconds?: number; etag?: string } = {}): Promise<void> {
  if (!kv || !fitsInKv(text)) return
  const metadata: WrittenAt = { written: Date.now(), ...(opts.etag !== undefined ? { etag: opts.etag } : {}) }
  await settle(() => kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds + (opts.staleSeconds ?? 0)), metadata }), {})
}

/** The stale copy of `key` when `error` is one it may answer, else null. */
async function keptFor(kv: KVLike | undefined, key: string, error: unknown, opts: CachedOptions): Promise<{ text: string; ageSeconds: number } | null> {
  if (!opts.staleIfError?.when(error)) return null
  return readKept(kv, staleKey(key))
}

/**
 * A value kept for long and read on its own (no produce): its text and age, or null. For a fact that
 * never changes, written with {@link writeKept} beside a shorter-lived answer holding it.
 *
 * @example
 * const size = await readKept(env.CACHE, sizeKey) // { text: '{"width":4032,"height":3024}', ageSeconds: 420 } | null
 */
export async function readKept(kv: KVLike | undefined, key: string): Promise<{ text: string; ageSeconds: number; etag?: string } | null> {
  if (!kv) return null
  try {
    if (!kv.getWithMetadata) {
      const text = await kv.get(key, 'text')
      return text === null ? null : { text, ageSeconds: 0 }
    }
    const { value, metadata } = await kv.getWithMetadata(key, 'text')
    if (value === null) return null
    const { written, etag } = (metadata ?? {}) as Partial<WrittenAt>
    return { text: value, ageSeconds: typeof written === 'number' && Number.isFinite(written) ? Math.max(0, Math.floor((Date.now() - written) / 1000)) : 0, ...(typeof etag === 'string' ? { etag } : {}) }
  } catch {
    return null
  }
}

/**
 * Stores `text` for `ttlSeconds` with the time it was written (for {@link readKept}'s age); best
 * effort like every write here.
 *
 * @example
 * await writeKept(env.CACHE, sizeKey, JSON.stringify({ width, height }), TTL.imageSize, { defer })
 */
export async function writeKept(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: Pick<CachedOptions, 'defer'> = {}): Promise<void> {
  if (!kv || !fitsInKv(text)) return
  await putKept(kv, key, text, ttlSeconds, opts)
}

/** {@link writeKept} of a text already known to fit. */
async function putKept(kv: KVLike, key: string, text: string, ttlSeconds: number, opts: Pick<CachedOptions, 'defer'>): Promise<void> {
  const metadata: WrittenAt = { written: Date.now() }
  await settle(() => kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds), metadata }), opts)
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

/**
 * Stores `text` unless it is over KV's value limit, and its stale copy when asked; awaited, or
 * handed to `opts.defer`.
 */
async function write(kv: KVLike | undefined, key: string, text: string, ttlSeconds: number, opts: CachedOptions): Promise<void> {
  if (!kv || !fitsInKv(text)) return
  await settle(() => kv.put(key, text, { expirationTtl: clampTtl(ttlSeconds) }), opts)
  if (opts.staleIfError) await putKept(kv, staleKey(key), text, ttlSeconds + opts.staleIfError.seconds, opts)
}

/** A write that never rejects (a lost write costs one more upstream round trip later, nothing more). */
async function settle(put: () => Promise<void>, opts: Pick<CachedOptions, 'defer'>): Promise<void> {
  const quiet = (async () => {
    try {
      await put()
    } catch {
      // Best effort.
    }
  })()
  if (opts.defer) opts.defer(quiet)
  else await quiet
}

/** Whole seconds, at least KV's minimum of 60. */
export function clampTtl(ttlSeconds: number): number {
  return Number.isFinite(ttlSeconds) ? Math.max(KV_LIMITS.minTtlSeconds, Math.ceil(ttlSeconds)) : KV_LIMITS.minTtlSeconds
}

export function fitsInKv(text: string): boolean {
  const max = KV_LIMITS.maxValueBytes
  // UTF-8 takes 1..3 bytes per UTF-16 unit: only count when the length alone can't decide.
  if (text.length * 3 <= max) return true
  if (text.length > max) return false
  return utf8Length(text, max) <= max
}

/**
 * The UTF-8 length of `text`, as TextEncoder would write it (a lone surrogate as U+FFFD, 3 bytes),
 * counted without making the encoded copy (an 11 MB answer's copy cost 0.1 s and its size in
 * memory); stops counting past `stopAbove`.
 */
function utf8Length(text: string, stopAbove: number): number {
  let bytes = 0
  for (let i = 0; i < text.length && bytes <= stopAbove; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
