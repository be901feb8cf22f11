/**
 * @module
 * When to try a callback again, and how much of a receiver's answer to read: exponential
 * backoff with jitter (6 attempts over about an hour by default), raised by `Retry-After`.
 */

/** Attempts per delivery, the first included: their 5 waits add up to about an hour. */
export const DEFAULT_DELIVERY_ATTEMPTS = 6
/** The first wait; each next one is {@link BACKOFF_FACTOR} times longer (30 s, 1.5, 4.5, 13.5, 40.5 min). */
export const DEFAULT_BASE_DELAY_MS = 30_000
export const BACKOFF_FACTOR = 3
/** No wait is longer, whatever the receiver's `Retry-After` asks: a delivery must end. */
export const DEFAULT_MAX_DELAY_MS = 60 * 60_000
/** Each wait is its nominal length × [1 − JITTER, 1 + JITTER), so failed receivers are not hit in step. */
export const JITTER = 0.2

export interface DeliveryDelayOptions {
  baseMs?: number
  maxMs?: number
  /** [0, 1), as Math.random (the default); tests pass a fixed one. */
  random?: () => number
  /** The failed attempt's `Retry-After` in seconds (see {@link retryAfterSeconds}): the wait is at least that. */
  retryAfterSeconds?: number
}

/**
 * Milliseconds to wait after attempt `attempt` (1 = the first) failed, before attempt `attempt + 1`.
 * Never more than `maxMs`; a `Retry-After` longer than the backoff raises it (to at most `maxMs`).
 *
 * @example
 * deliveryDelayMs(1, { random: () => 0.5 }) // 30000
 * deliveryDelayMs(2, { random: () => 0.5 }) // 90000
 * deliveryDelayMs(1, { random: () => 0.5, retryAfterSeconds: 120 }) // 120000
 */
export function deliveryDelayMs(attempt: number, opts: DeliveryDelayOptions = {}): number {
  const { baseMs = DEFAULT_BASE_DELAY_MS, maxMs = DEFAULT_MAX_DELAY_MS, random = Math.random } = opts
  // A counter gone wrong (0, NaN) still gets a sane first wait rather than a throw inside an alarm.
  const n = Number.isFinite(attempt) && attempt >= 1 ? Math.floor(attempt) : 1
  const nominal = baseMs * BACKOFF_FACTOR ** (n - 1)
  const r = Math.min(Math.max(random(), 0), 1)
  const jittered = nominal * (1 - JITTER + 2 * JITTER * r)
  const asked = opts.retryAfterSeconds !== undefined && Number.isFinite(opts.retryAfterSeconds) && opts.retryAfterSeconds > 0 ? opts.retryAfterSeconds * 1000 : 0
  return Math.round(Math.min(maxMs, Math.max(jittered, asked)))
}

/**
 * A `Retry-After` value in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined
 * when absent or unreadable, 0 for a date in the past.
 *
 * @example
 * retryAfterSeconds('120', Date.now()) // 120
 * retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')) // 60
 */
export function retryAfterSeconds(value: string | null | undefined, nowMs: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^[0-9]+$/.test(text)) return Number(text)
  // An HTTP date names its month; without this, Date.parse would read '-5' or '1.5' as dates.
  const at = /[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000))
}

/**
 * At most `maxBytes` of a response body as text (UTF-8; a character cut at the end is replaced),
 * then the rest is cancelled: never more is buffered, however much (or how long) the receiver
 * sends. `timeoutMs` also ends a body that stalls, with what came so far.
 *
 * @example
 * const excerpt = await readCapped(await fetch(url, { method: 'POST', redirect: 'manual' }), 4096)
 */
export async function readCapped(res: Response, maxBytes: number, opts: { timeoutMs?: number } = {}): Promise<string> {
  if (res.body === null || maxBytes <= 0) {
    res.body?.cancel().catch(() => {})
    return ''
  }
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let read = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const stalled = opts.timeoutMs === undefined ? undefined : new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), opts.timeoutMs)))
  try {
    while (read < maxBytes) {
      const next = stalled ? await Promise.race([reader.read(), stalled]) : await reader.read()
      if (next === 'stalled' || next.done) break
      const chunk = next.value.subarray(0, maxBytes - read)
      read += chunk.byteLength
      text += decoder.decode(chunk, { stream: true })
    }
  } finally {
    clearTimeout(timer)
    // Not awaited: a source that never answers its cancel must not hold us.
    reader.cancel().catch(() => {})
  }
  return text + decoder.decode()
}
