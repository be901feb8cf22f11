/**
 * @module
 * The upstream quota governor's arithmetic, pure: one token bucket per kind of upstream call
 * (entity, search) that never grants more than its rate in any window, and one pause for both that
 * the upstream's code 4 ("Application request limit reached") sets for everyone of an identity.
 */

/** Mapillary limits search calls (`/map_features`, `/images`) apart from entity calls (the rest). */
export type PermitKind = 'entity' | 'search'

export const PERMIT_KINDS: readonly PermitKind[] = ['entity', 'search']

/** Permits per minute, per kind. */
export type PermitRates = Record<PermitKind, number>

export interface BucketOptions {
  rates: PermitRates
  /**
   * How long a granted permit stays good: a caller must start its fetch within this, or drop the
   * permit. Grants are paced over 60 s + holdMs so that spending them up to holdMs late still keeps
   * every 60-s window of fetches under the rate.
   */
  holdMs: number
  /** Share of the rate that may go out at once after a quiet spell (the bucket's size). */
  burstFraction: number
  /** Most permits one call may take. */
  maxBatch: number
  /** Pause after a code 4 that said no Retry-After; doubled for each code 4 right after a pause. */
  basePauseMs: number
  maxPauseMs: number
}

/** Safe defaults for everything but the rates (the governor's wrangler.toml sets those). */
export const BUCKET_DEFAULTS: Omit<BucketOptions, 'rates'> = {
  holdMs: 10_000,
  burstFraction: 1 / 6,
  maxBatch: 64,
  basePauseMs: 30_000,
  maxPauseMs: 600_000,
}

/** What the governor keeps (durably) for one identity. */
export interface BucketState {
  tokens: Record<PermitKind, number>
  /** When the tokens were last refilled (ms since the epoch). */
  updatedAt: number
  /** Nothing is granted before this (ms since the epoch; 0: no pause). */
  pausedUntil: number
  /** Code-4 pauses in a row: the exponent of the next window without Retry-After. */
  strikes: number
}

/** The answer to one ask, in durations relative to the governor's clock. */
export interface Grant {
  /** Permits granted (0 to the count asked). */
  granted: number
  /** How long the granted permits stay good. */
  holdMs: number
  /** When none was granted: how long to wait before asking again. 0 otherwise. */
  waitMs: number
  /** How long the identity stays paused (0: not paused). */
  pausedMs: number
}

/**
 * The bucket's size and refill. Grants in any span of L ms are at most size + refill × L, so with
 * size + refill × (60 000 + holdMs) = rate no 60-s window of fetches (each made at most holdMs after
 * its grant) exceeds the rate.
 *
 * @example
 * bucketShape(600, BUCKET_DEFAULTS) // { size: 100, refillPerMs: 500 / 70_000 }
 */
export function bucketShape(rate: number, opts: Pick<BucketOptions, 'holdMs' | 'burstFraction'>): { size: number; refillPerMs: number } {
  const r = Math.max(2, Math.floor(rate))
  const size = Math.min(r - 1, Math.max(1, Math.floor(r * opts.burstFraction)))
  return { size, refillPerMs: (r - size) / (60_000 + opts.holdMs) }
}

/**
 * A fresh identity's state: a full bucket, no pause.
 * @example initialState({ entity: 600, search: 60 }, BUCKET_DEFAULTS, Date.now())
 */
export function initialState(rates: PermitRates, opts: Pick<BucketOptions, 'holdMs' | 'burstFraction'>, now: number): BucketState {
  return { tokens: { entity: bucketShape(rates.entity, opts).size, search: bucketShape(rates.search, opts).size }, updatedAt: now, pausedUntil: 0, strikes: 0 }
}

function refilled(state: BucketState, opts: BucketOptions, now: number): BucketState {
  // Nothing refills during a pause: after it the rate starts again from an empty bucket.
  const elapsed = Math.max(0, now - Math.max(state.updatedAt, state.pausedUntil))
  const tokens = { ...state.tokens }
  for (const kind of PERMIT_KINDS) {
    const { size, refillPerMs } = bucketShape(opts.rates[kind], opts)
    // A rate lowered since the state was saved: the bucket shrinks to its new size at once.
    tokens[kind] = Math.min(size, tokens[kind] + refillPerMs * elapsed)
  }
  return { ...state, tokens, updatedAt: Math.max(now, state.updatedAt) }
}

/**
 * Takes up to `count` permits of `kind` (at least 1, at most `maxBatch`). While paused, or when
 * not even one is there, grants none and says how long to wait.
 *
 * @example
 * const { state, grant } = acquire(state0, opts, 'search', 10, Date.now())
 * grant // { granted: 10, holdMs: 10_000, waitMs: 0, pausedMs: 0 }
 */
export function acquire(state: BucketState, opts: BucketOptions, kind: PermitKind, count: number, now: number): { state: BucketState; grant: Grant } {
  const next = refilled(state, opts, now)
  if (next.pausedUntil > now) {
    const pausedMs = next.pausedUntil - now
    return { state: next, grant: { granted: 0, holdMs: opts.holdMs, waitMs: pausedMs, pausedMs } }
  }
  const asked = Math.min(opts.maxBatch, Math.max(1, Math.floor(count)))
  const granted = Math.min(asked, Math.floor(next.tokens[kind]))
  if (granted === 0) {
    const { refillPerMs } = bucketShape(opts.rates[kind], opts)
    const waitMs = Math.ceil((1 - next.tokens[kind]) / refillPerMs)
    return { state: next, grant: { granted: 0, holdMs: opts.holdMs, waitMs: Math.max(1, waitMs), pausedMs: 0 } }
  }
  next.tokens = { ...next.tokens, [kind]: next.tokens[kind] - granted }
  // Past a pause and granting again: the next code 4 starts the windows from the base again.
  if (next.pausedUntil !== 0 && now - next.pausedUntil > opts.maxPauseMs) next.strikes = 0
  return { state: next, grant: { granted, holdMs: opts.holdMs, waitMs: 0, pausedMs: 0 } }
}

/**
 * The upstream answered code 4: pause everyone of this identity for its Retry-After, else for an
 * exponential window (base × 2^strikes, at most `maxPauseMs`). A report during a pause (a caller
 * still spending a permit taken before it) extends the pause to its Retry-After but adds no
 * strike, so one storm does not escalate itself. Tokens are emptied: after the pause the rate
 * starts again from nothing, not with a burst.
 *
 * @example
 * report(state, opts, 20, Date.now()).pausedUntil // now + 20 000
 */
export function report(state: BucketState, opts: BucketOptions, retryAfterSeconds: number | undefined, now: number): BucketState {
  const next = refilled(state, opts, now)
  // Retry-After: 0 is the upstream saying "now": no pause (but the bucket still starts again empty).
  const given = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 ? Math.min(opts.maxPauseMs, retryAfterSeconds * 1000) : undefined
  const paused = next.pausedUntil > now
  const strikes = paused ? next.strikes : next.strikes + 1
  const windowMs = given ?? (paused ? 0 : Math.min(opts.maxPauseMs, opts.basePauseMs * 2 ** (strikes - 1)))
  return {
    tokens: { entity: 0, search: 0 },
    updatedAt: next.updatedAt,
    pausedUntil: Math.max(next.pausedUntil, now + windowMs),
    strikes,
  }
}

/**
 * The grant of a paused identity without taking anything (what a reporter learns back).
 * @example pauseOf(state, opts, Date.now()).pausedMs // 20 000 right after a 20-s code 4
 */
export function pauseOf(state: BucketState, opts: Pick<BucketOptions, 'holdMs'>, now: number): Grant {
  const pausedMs = Math.max(0, state.pausedUntil - now)
  return { granted: 0, holdMs: opts.holdMs, waitMs: pausedMs, pausedMs }
}

/**
 * Reads a rate setting: its whole part when at least 2, else the fallback.
 * @example rateSetting('600', 40_000) // 600
 */
export function rateSetting(value: string | undefined, fallback: number): number {
  const n = Math.floor(Number(value))
  return Number.isFinite(n) && n >= 2 ? n : fallback
}
