/**
 * @module
 * `/readyz`: whether the upstream answers, asked at most once per period and remembered in the
 * isolate, so probes (a load balancer's every few seconds) never spend the upstream's quota.
 */

/** What the upstream probe found (mly-feature-images `/internal/readyz` answers this shape). */
export interface ProbeOutcome {
  ready: boolean
  /** Why not, in a few words (e.g. `upstream unreachable`, `upstream rejects the server token`). */
  reason?: string
  /** The upstream's HTTP status, when it answered. */
  upstream_status?: number
}

export interface Readiness extends ProbeOutcome {
  /** When the upstream was last asked (ISO 8601). */
  checked_at: string
}

/**
 * Remembers the last probe's outcome for `periodMs`; concurrent callers past it share one probe.
 *
 * @example
 * const cache = new ReadinessCache()
 * await cache.read(() => askUpstream(), 30_000) // asks: { ready: true, checked_at: '…' }
 * await cache.read(() => askUpstream(), 30_000) // within 30 s: the same, not asked again
 */
export class ReadinessCache {
  #last: { at: number; value: Readiness } | undefined
  #pending: Promise<Readiness> | undefined
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  read(probe: () => Promise<ProbeOutcome>, periodMs: number): Promise<Readiness> {
    const last = this.#last
    if (last && this.#now() - last.at < periodMs) return Promise.resolve(last.value)
    this.#pending ??= (async () => {
      const at = this.#now()
      let outcome: ProbeOutcome
      try {
        outcome = await probe()
      } catch {
        outcome = { ready: false, reason: 'readiness probe failed' }
      }
      const value = { ...outcome, checked_at: new Date(at).toISOString() }
      this.#last = { at, value }
      return value
    })().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }
}
