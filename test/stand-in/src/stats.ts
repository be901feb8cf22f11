/**
 * @module
 * What the sandbox saw, for tests and the benchmark (`GET /__sandbox/stats`). Tokens are never
 * kept: only counts and short hashes; `access_token` values in recorded URLs are redacted.
 */
import { hash32 } from './prng'
import type { RouteKind } from './faults'

export const URLS_KEPT = 500
export const TIMES_KEPT = 50_000

/**
 * Most of the sorted `times` within any window of `spanMs` (a window [t, t + spanMs)).
 * @example maxInWindow([0, 10, 59_999, 60_000], 60_000) // 3
 */
export function maxInWindow(times: readonly number[], spanMs: number): number {
  let best = 0
  let lo = 0
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= spanMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

export interface StatsSnapshot {
  /** Graph requests (control routes not counted). */
  requests: number
  byRoute: Record<RouteKind | 'other', number>
  /** Answers by HTTP status. */
  statuses: Record<string, number>
  /** Injected faults by kind. */
  faults: Record<string, number>
  /** Requests that carried an `Authorization` header. */
  authorization_headers_seen: number
  /** Requests that carried `access_token` in the URL (product code must never do that). */
  query_tokens_seen: number
  /** Distinct tokens seen, as `h:<hash>` (never the token). */
  tokensSeen: string[]
  /** The last 500 request URLs, oldest first, `access_token` redacted. */
  urls: string[]
  /** Most requests in flight at once. */
  maxInFlight: number
  /**
   * When each Graph request arrived (ms since the epoch, the last {@link TIMES_KEPT}), by the
   * budget it spends upstream (search: `/map_features`, `/images`; entity: the rest), so a test
   * can count requests in any 60-s window (see {@link maxInWindow}).
   */
  times: { entity: number[]; search: number[] }
  /** Graph requests per minute (`YYYY-MM-DDTHH:MM`), by budget. */
  perMinute: Record<string, { entity: number; search: number }>
  since: string
}

export function tokenHash(token: string): string {
  return `h:${hash32('token', token).toString(16).padStart(8, '0')}`
}

/** The URL with every `access_token` value replaced by `REDACTED`. */
export function redactUrl(url: URL): string {
  if (!url.searchParams.has('access_token')) return url.href
  const copy = new URL(url.href)
  const params = [...copy.searchParams].map(([k, v]) => [k, k === 'access_token' ? 'REDACTED' : v] as [string, string])
  copy.search = new URLSearchParams(params).toString()
  return copy.href
}

export class Stats {
  private s!: StatsSnapshot
  private tokens = new Set<string>()
  private inFlight = 0

  constructor() {
    this.reset()
  }

  reset(): void {
    this.s = {
      requests: 0,
      byRoute: { image_ids: 0, entity: 0, detections: 0, map_features: 0, images: 0, other: 0 },
      statuses: {},
      faults: {},
      authorization_headers_seen: 0,
      query_tokens_seen: 0,
      tokensSeen: [],
      urls: [],
      maxInFlight: 0,
      times: { entity: [], search: [] },
      perMinute: {},
      since: new Date().toISOString(),
    }
    this.tokens = new Set()
    this.inFlight = 0
  }

  /** Records one Graph request; returns its 1-based number since the last reset. */
  begin(kind: RouteKind | 'other', url: URL, hasAuthorizationHeader: boolean, token: string | null): number {
    const s = this.s
    s.requests++
    s.byRoute[kind]++
    if (hasAuthorizationHeader) s.authorization_headers_seen++
    if (url.searchParams.has('access_token')) s.query_tokens_seen++
    if (token) {
      const h = tokenHash(token)
      if (!this.tokens.has(h)) {
        this.tokens.add(h)
        s.tokensSeen.push(h)
      }
    }
    const now = Date.now()
    const budget = url.pathname === '/map_features' || url.pathname === '/images' ? 'search' : 'entity'
    s.times[budget].push(now)
    if (s.times[budget].length > TIMES_KEPT) s.times[budget].splice(0, s.times[budget].length - TIMES_KEPT)
    const minute = new Date(now).toISOString().slice(0, 16)
    const m = (s.perMinute[minute] ??= { entity: 0, search: 0 })
    m[budget]++
    s.urls.push(redactUrl(url))
    if (s.urls.length > URLS_KEPT) s.urls.splice(0, s.urls.length - URLS_KEPT)
    this.inFlight++
    if (this.inFlight > s.maxInFlight) s.maxInFlight = this.inFlight
    return s.requests
  }

  end(status: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
    this.s.statuses[status] = (this.s.statuses[status] ?? 0) + 1
  }

  fault(kind: string): void {
    this.s.faults[kind] = (this.s.faults[kind] ?? 0) + 1
  }

  snapshot(): StatsSnapshot {
    return structuredClone(this.s)
  }
}
