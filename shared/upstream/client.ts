/**
 * @module
 * GraphClient: GET against the Graph API with header auth, timeouts, retries, a connection cap
 * and a subrequest budget.
 */

import { backoffDelay, parseRetryAfter } from './backoff'
import { classifyStatus, type Failure } from './classify'
import { UpstreamError } from './errors'
import { createLimiter, type Limiter } from './limiter'
import { permitKind, type PermitKind, type PermitSource } from './permits'

// Re-exported: callers building a client usually need to pick its token first.
export { tokenFrom } from './token'

export interface GraphClientOptions {
  /** Origin (and optional path prefix), e.g. https://graph.mapillary.com or http://127.0.0.1:8799 */
  baseUrl: string
  /** `MLY|…`; sent only as `Authorization: OAuth <token>`. */
  token: string
  /** Who supplied the token: decides whether an upstream 401 is the caller's fault (client) or ours. */
  tokenSource?: 'server' | 'client'
  /** Injectable; defaults to globalThis.fetch. Called as fetch(url, init). */
  fetch?: typeof fetch
  /** Per attempt, covering headers and body. Default 10 000. */
  timeoutMs?: number
  /** Default 5. */
  maxAttempts?: number
  /** Default 200. */
  baseDelayMs?: number
  /** Default 5000. */
  maxDelayMs?: number
  /** Longest Retry-After we wait for; a longer one ends the call. Default 30. */
  maxRetryAfterSeconds?: number
  /** Default 6: the Workers connection limit per invocation. */
  maxInFlight?: number
  /** Max fetch calls (attempts) this client may make. Default Infinity. */
  subrequestBudget?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  /** Clock for HTTP-date Retry-After values. */
  now?: () => number
  /**
   * The upstream quota governor's permits: one is taken before every fetch attempt (retries
   * included), and a code 4 (the app limit) is reported to it. Absent: no pacing.
   */
  permits?: PermitSource
}

export interface GraphClientStats {
  /** `get` calls. */
  requests: number
  /** fetch calls (each counts as one subrequest). */
  attempts: number
  /** attempts after the first of a `get`. */
  retries: number
  /** most attempts awaiting a response at once. */
  inFlightPeak: number
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure; paced?: true }

// The upstream's own words for "this app's quota is spent" (classify.ts reads it as rate_limited).
const APP_LIMIT_CODE = 4

const TIMED_OUT = Symbol('timed out')
// Header values must be visible ASCII: a CR/LF would let a token inject headers, and a runtime's
// own "invalid header value" error would quote the token back.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * One client per incoming request (its limiter and budget are that invocation's).
 *
 * @example
 * const client = new GraphClient({ baseUrl: 'https://graph.mapillary.com', token, subrequestBudget: 1000 })
 * const { data } = await client.get<{ data: { id: string }[] }>('/image_ids', { sequence_id: 'kx7r2u' })
 * client.stats // { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 }
 */
export class GraphClient {
  readonly stats: GraphClientStats = { requests: 0, attempts: 0, retries: 0, inFlightPeak: 0 }
  readonly tokenSource: 'server' | 'client'

  // ES private fields: not enumerable, not reachable by JSON.stringify or console.log of the client.
  readonly #authorization: string
  readonly #baseUrl: string
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number
  readonly #maxAttempts: number
  readonly #baseDelayMs: number
  readonly #maxDelayMs: number
  readonly #maxRetryAfter: number
  readonly #budget: number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #random: () => number
  readonly #now: () => number
  readonly #limiter: Limiter
  readonly #permits: PermitSource | undefined
  #lastFailure: UpstreamError | undefined

  /**
   * The upstream's last failed answer, whether or not a retry then succeeded: when the budget ends
   * a call's retries (`budget_exhausted`), this names what the upstream kept answering.
   */
  get lastFailure(): UpstreamError | undefined {
    return this.#lastFailure
  }

  constructor(opts: GraphClientOptions) {
    if (!opts.token || !TOKEN_SHAPE.test(opts.token)) throw new TypeError('GraphClient: the access token is missing or malformed')
    this.#authorization = `OAuth ${opts.token}`
    this.tokenSource = opts.tokenSource ?? 'server'
    this.#baseUrl = opts.baseUrl.replace(/\/+$/, '')
    // Bound call: Workers throws "Illegal invocation" when fetch is called off globalThis.
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#timeoutMs = opts.timeoutMs ?? 10_000
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 5)
    this.#baseDelayMs = opts.baseDelayMs ?? 200
    this.#maxDelayMs = opts.maxDelayMs ?? 5000
    this.#maxRetryAfter = opts.maxRetryAfterSeconds ?? 30
    this.#budget = opts.subrequestBudget ?? Number.POSITIVE_INFINITY
    this.#sleep = opts.sleep ?? defaultSleep
    this.#random = opts.random ?? Math.random
    this.#now = opts.now ?? Date.now
    this.#limiter = createLimiter(opts.maxInFlight ?? 6)
    this.#permits = opts.permits
  }

  /**
   * GET `path` with `params` as the query (undefined values dropped) and answer the parsed JSON.
   * Throws {@link UpstreamError} after retries; never puts the token in the URL.
   */
  async get<T = unknown>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
    this.stats.requests++
    const url = this.#url(path, params)
    const kind = permitKind(path)
    let attempt = 0
    for (;;) {
      attempt++
      const outcome = await this.#limiter.run(() => this.#attempt<T>(url, attempt, kind))
      if (outcome.ok) return outcome.value
      const f = outcome.failure
      const fail = (reason = f.reason) =>
        new UpstreamError(reason, outcome.paced ? `Graph API GET ${path} not sent: the upstream quota governor asks to wait ${f.retryAfterSeconds} s (paced)` : describe(reason, path, f.status), {
          status: f.status,
          retryAfterSeconds: f.retryAfterSeconds,
          graphCode: f.graphCode,
          tokenSource: this.tokenSource,
          attempts: attempt,
          ...(outcome.paced ? { paced: true } : {}),
        })
      if (f.reason !== 'budget_exhausted') this.#lastFailure = fail()
      if (!f.retryable || attempt >= this.#maxAttempts) {
        if (f.graphCode === APP_LIMIT_CODE && this.#permits) await this.#permits.report(f.retryAfterSeconds)
        throw fail()
      }
      if (f.graphCode === APP_LIMIT_CODE && this.#permits) {
        // The app's quota is spent: the governor pauses everyone of this identity, this call too.
        // No wait of our own: the next permit waits out a short pause, or refuses a long one (503).
        await this.#permits.report(f.retryAfterSeconds)
        continue
      }
      let delay = backoffDelay(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random)
      if (f.retryAfterSeconds !== undefined) {
        // The upstream asks for more patience than one invocation can afford: report, don't wait.
        if (f.retryAfterSeconds > this.#maxRetryAfter) throw fail(f.reason === 'unavailable' ? 'unavailable' : 'rate_limited')
        delay = Math.max(delay, f.retryAfterSeconds * 1000)
      }
      await this.#sleep(delay)
    }
  }

  #url(path: string, params: Record<string, string | undefined>): string {
    if (!path.startsWith('/') || path.includes('?') || path.includes('#')) throw new TypeError('GraphClient: path must start with / and carry no query')
    const query: string[] = []
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue
      // The token travels in the header only; refuse to build a URL that would carry one.
      if (k.toLowerCase() === 'access_token' || /MLY\|/i.test(v)) throw new TypeError('GraphClient: credentials never go in a URL')
      query.push(`${encodeParam(k)}=${encodeParam(v)}`)
    }
    return `${this.#baseUrl}${path}${query.length ? `?${query.join('&')}` : ''}`
  }

  /** One fetch, holding its limiter slot until the body is read or the attempt has failed. */
  async #attempt<T>(url: string, attempt: number, kind: PermitKind): Promise<Outcome<T>> {
    if (this.stats.attempts >= this.#budget) {
      return { ok: false, failure: { reason: 'budget_exhausted', retryable: false } }
    }
    // Counted before the permit is awaited, so attempts running side by side never pass the budget.
    this.stats.attempts++
    const refused = this.#permits ? await this.#permits.take(kind) : undefined
    if (refused) {
      // Nothing was sent: no subrequest spent, and no retry here (the wait is longer than this call affords).
      this.stats.attempts--
      return { ok: false, failure: { reason: 'rate_limited', retryable: false, retryAfterSeconds: refused.retryAfterSeconds }, paced: true }
    }
    if (attempt > 1) this.stats.retries++
    const active = this.#limiter.active
    if (active > this.stats.inFlightPeak) this.stats.inFlightPeak = active

    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    // Racing a timer (besides aborting) frees the slot even if a fetch ignores its signal.
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => {
        controller.abort()
        resolve(TIMED_OUT)
      }, this.#timeoutMs)
    })
    const exchange = (async () => {
      let res: Response
      try {
        res = await this.#fetch(url, { method: 'GET', headers: { authorization: this.#authorization, accept: 'application/json' }, signal: controller.signal })
      } catch {
        return { network: true as const }
      }
      try {
        return { res, text: await res.text() }
      } catch {
        // A stream error mid-body: the connection dropped after the headers.
        return { network: true as const }
      }
    })()
    try {
      const r = await Promise.race([exchange, timeout])
      if (r === TIMED_OUT) return { ok: false, failure: { reason: 'timeout', retryable: true } }
      if ('network' in r) {
        return { ok: false, failure: { reason: controller.signal.aborted ? 'timeout' : 'dropped', retryable: true } }
      }
      const { res, text } = r
      if (res.status >= 200 && res.status < 300) {
        try {
          return { ok: true, value: JSON.parse(text) as T }
        } catch {
          // Truncated or garbled JSON is a transient fault as far as we can tell.
          return { ok: false, failure: { reason: 'bad_response', retryable: true, status: res.status } }
        }
      }
      return { ok: false, failure: classifyStatus(res.status, text, parseRetryAfter(res.headers.get('retry-after'), this.#now())) }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** encodeURIComponent, but commas stay literal: Graph API lists (`fields=a,b`, bbox) read better. */
function encodeParam(s: string): string {
  return encodeURIComponent(s).replaceAll('%2C', ',')
}

function describe(reason: string, path: string, status?: number): string {
  const what = status !== undefined ? `HTTP ${status}` : reason.replaceAll('_', ' ')
  return `Graph API GET ${path} failed: ${what} (${reason})`
}
