/**
 * @module
 * Retry timing: exponential backoff with full jitter, and Retry-After parsing.
 */

/**
 * Delay before retry number `retry` (1 = first retry): uniform in [0, min(cap, base·2^(retry-1))).
 *
 * Why full jitter: many invocations retrying the same upstream hiccup must not retry in lockstep.
 *
 * @example
 * backoffDelay(3, 200, 5000, Math.random) // somewhere in [0, 800)
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1))
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.floor(r * ceiling)
}

/**
 * The longest wait a `Retry-After` is read as: a day. 309 digits would otherwise be Infinity, carried
 * into our own `Retry-After`, `retry_after` and the quota governor's pause.
 */
export const MAX_RETRY_AFTER_SECONDS = 86_400

/**
 * Parses a `Retry-After` header value (delta seconds or an HTTP date) into whole seconds in [0, a day];
 * undefined when absent or unreadable.
 *
 * @example
 * parseRetryAfter('7') // 7
 * parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) // 5 (or 4/6 around the second)
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined
  const v = value.trim()
  if (v === '') return undefined
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_SECONDS, Number.parseInt(v, 10))
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)))
}
