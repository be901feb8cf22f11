/**
 * @module
 * mly-governor: the upstream quota governor. One {@link UpstreamGovernor} Durable Object per
 * upstream identity hands out permits for upstream fetches (entity and search budgets apart, each
 * held over any 60-s window) and pauses everyone of the identity when the upstream answers code 4.
 * Task Workers reach it by typed RPC through their GOVERNOR binding (shared/upstream/permits.ts);
 * its fetch handler only answers /healthz.
 */
import { DurableObject } from 'cloudflare:workers'
import {
  acquire,
  BUCKET_DEFAULTS,
  initialState,
  pauseOf,
  PERMIT_KINDS,
  rateSetting,
  report,
  type BucketOptions,
  type BucketState,
  type Grant,
  type PermitKind,
} from '../../../shared/upstream/permit-bucket'
import { problem, problemResponse } from '../../../shared/problem/problem'
import type { Env } from './env'

/** Used when a rate setting is missing or not a whole number ≥ 2 (the wrangler.toml's values). */
export const DEFAULT_RATES = { entity: 40_000, search: 8_000 } as const

const STATE_KEY = 'bucket'
const COUNTS_KEY = 'counts'

/** What the object has done since it was created: its calls, and the permits it granted. */
export interface GovernorCounts {
  calls: number
  granted: Record<PermitKind, number>
  reports: number
}

/** The bucket's options from the Worker's settings. */
export function bucketOptions(env: Partial<Pick<Env, 'UPSTREAM_RATE_PER_MINUTE' | 'UPSTREAM_SEARCH_RATE_PER_MINUTE'>>): BucketOptions {
  return {
    ...BUCKET_DEFAULTS,
    rates: {
      entity: rateSetting(env.UPSTREAM_RATE_PER_MINUTE, DEFAULT_RATES.entity),
      search: rateSetting(env.UPSTREAM_SEARCH_RATE_PER_MINUTE, DEFAULT_RATES.search),
    },
  }
}

/**
 * The permits of one upstream identity (the object's name: `server` or `client:<hash>`). Its
 * state is one row of its SQLite storage, written on every change, so an evicted object keeps
 * what it granted and any pause.
 *
 * @example
 * const governor = env.GOVERNOR.getByName('server')
 * await governor.acquire('search', 8) // { granted: 8, holdMs: 10000, waitMs: 0, pausedMs: 0 }
 * await governor.report(30)           // code 4 with Retry-After: 30 → everyone waits 30 s
 */
export class UpstreamGovernor extends DurableObject<Env> {
  readonly #opts: BucketOptions
  #state: BucketState
  #counts: GovernorCounts

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#opts = bucketOptions(env)
    this.#state = (ctx.storage.kv.get(STATE_KEY) as BucketState | undefined) ?? initialState(this.#opts.rates, this.#opts, Date.now())
    this.#counts = (ctx.storage.kv.get(COUNTS_KEY) as GovernorCounts | undefined) ?? { calls: 0, granted: { entity: 0, search: 0 }, reports: 0 }
  }

  /** Up to `count` permits of `kind` (1 to 64), or none and how long to wait. */
  acquire(kind: PermitKind, count: number): Grant {
    if (!PERMIT_KINDS.includes(kind)) throw new TypeError(`UpstreamGovernor: unknown permit kind ${String(kind)}`)
    const { state, grant } = acquire(this.#state, this.#opts, kind, Number.isFinite(count) ? count : 1, Date.now())
    this.#counts.calls++
    this.#counts.granted[kind] += grant.granted
    this.#save(state)
    return grant
  }

  /** The upstream answered code 4: pause everyone of this identity (its Retry-After, else exponentially). */
  report(retryAfterSeconds?: number): Grant {
    const now = Date.now()
    this.#counts.calls++
    this.#counts.reports++
    this.#save(report(this.#state, this.#opts, typeof retryAfterSeconds === 'number' ? retryAfterSeconds : undefined, now))
    return pauseOf(this.#state, this.#opts, now)
  }

  /** The pause left and what the object has done, without taking anything (for readiness and tests). */
  status(): Grant & { strikes: number; counts: GovernorCounts } {
    return { ...pauseOf(this.#state, this.#opts, Date.now()), strikes: this.#state.strikes, counts: structuredClone(this.#counts) }
  }

  #save(state: BucketState): void {
    this.#state = state
    // One implicit transaction: the state and the counts are written together.
    this.ctx.storage.kv.put(STATE_KEY, state)
    this.ctx.storage.kv.put(COUNTS_KEY, this.#counts)
  }
}

export default {
  fetch(request: Request): Response {
    const { pathname } = new URL(request.url)
    if (pathname === '/healthz') return Response.json({ ok: true, worker: 'mly-governor' })
    return problemResponse(problem('route_not_found', 'The governor answers its task Workers by RPC; it serves no public route.'))
  },
} satisfies ExportedHandler<Env>
