/**
 * @module
 * A fixed-window points counter: the pure rule the {@link RateLimiter} object applies per client.
 */

/** The window a client is in and the points it has spent there. */
export interface WindowState {
  /** Start of the current window, ms since the epoch, a multiple of the window's length. */
  start: number
  used: number
}

export interface Take {
  /** Points this request costs; negative gives points back (never below 0 used). */
  cost: number
  /** Points per window. */
  limit: number
  windowSeconds: number
  /** Charge even past the limit (the rest of a cache miss's price, known only after its answer). */
  force?: boolean
  /** Charge as much of `cost` as is left, when at least 1 point is (a reservation, settled after the answer). */
  upTo?: boolean
}

/** What the client is told in `RateLimit-*` headers, and whether this request may go on. */
export interface Verdict {
  allowed: boolean
  limit: number
  /** Points left in this window after this request (never below 0). */
  remaining: number
  /** Whole seconds until the window ends (at least 1). */
  resetSeconds: number
  /** Points this take charged (0 when refused). */
  charged: number
}

/**
 * Charges `take.cost` points in the window `now` falls in (a new window starts at 0), unless that
 * would pass the limit: then nothing is charged and the request is refused. Windows are aligned
 * on multiples of their length, so `resetSeconds` is the same for every client.
 *
 * @example
 * takePoints(undefined, { cost: 1, limit: 2, windowSeconds: 60 }, 61_000)
 * // { state: { start: 60_000, used: 1 }, verdict: { allowed: true, limit: 2, remaining: 1, resetSeconds: 59 } }
 */
export function takePoints(state: WindowState | undefined, take: Take, now: number): { state: WindowState; verdict: Verdict } {
  const length = Math.max(1, take.windowSeconds) * 1000
  const start = Math.floor(now / length) * length
  const used = state && state.start === start ? state.used : 0
  const cost = take.upTo ? Math.min(take.cost, take.limit - used) : take.cost
  const allowed = take.force === true || (take.upTo ? cost >= 1 : used + cost <= take.limit)
  const next = { start, used: allowed ? Math.max(0, used + cost) : used }
  return {
    state: next,
    verdict: {
      allowed,
      limit: take.limit,
      remaining: Math.max(0, take.limit - next.used),
      resetSeconds: Math.max(1, Math.ceil((start + length - now) / 1000)),
      charged: allowed ? next.used - used : 0,
    },
  }
}

/**
 * The `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers, the three-field form) and, for a
 * refused request, `Retry-After`.
 *
 * @example
 * rateLimitHeaders({ allowed: false, limit: 600, remaining: 0, resetSeconds: 12 })
 * // { 'ratelimit-limit': '600', 'ratelimit-remaining': '0', 'ratelimit-reset': '12', 'retry-after': '12' }
 */
export function rateLimitHeaders(v: Verdict): Record<string, string> {
  return {
    'ratelimit-limit': String(v.limit),
    'ratelimit-remaining': String(v.remaining),
    'ratelimit-reset': String(v.resetSeconds),
    ...(v.allowed ? {} : { 'retry-after': String(v.resetSeconds) }),
  }
}
