import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acquire, BUCKET_DEFAULTS, bucketShape, initialState, rateSetting, report, type BucketOptions, type BucketState, type PermitKind } from './permit-bucket'

const opts = (entity: number, search: number, o: Partial<BucketOptions> = {}): BucketOptions => ({ ...BUCKET_DEFAULTS, rates: { entity, search }, ...o })

/** Most events (weighted) in any window [t, t + span) of the sorted times. */
function maxInWindow(events: { at: number; n: number }[], span: number): number {
  let best = 0
  let sum = 0
  let lo = 0
  for (let hi = 0; hi < events.length; hi++) {
    sum += events[hi]!.n
    while (events[hi]!.at - events[lo]!.at >= span) sum -= events[lo++]!.n
    best = Math.max(best, sum)
  }
  return best
}

describe('permit bucket: the rate over any window', () => {
  it('never lets more than the rate reach the upstream in any 60 s, however callers ask and spend (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 1000 }),
        fc.array(
          fc.record({
            // mostly busy, sometimes a quiet spell that fills the bucket again
            gap: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1500 }), weight: 9 }, { arbitrary: fc.integer({ min: 10_000, max: 90_000 }), weight: 1 }),
            count: fc.integer({ min: 1, max: 80 }),
            search: fc.boolean(),
            // the caller spends its permits at once, or as late as the hold allows
            late: fc.boolean(),
          }),
          { minLength: 1, maxLength: 500 },
        ),
        (rate, asks) => {
          const o = opts(rate, rate)
          let state = initialState(o.rates, o, 0)
          let now = 0
          const fetches: Record<PermitKind, { at: number; n: number }[]> = { entity: [], search: [] }
          for (const a of asks) {
            now += a.gap
            const kind: PermitKind = a.search ? 'search' : 'entity'
            const r = acquire(state, o, kind, a.count, now)
            state = r.state
            expect(r.grant.granted).toBeLessThanOrEqual(Math.min(a.count, o.maxBatch))
            if (r.grant.granted > 0) fetches[kind].push({ at: a.late ? now + r.grant.holdMs - 1 : now, n: r.grant.granted })
            else expect(r.grant.waitMs).toBeGreaterThan(0)
          }
          for (const kind of ['entity', 'search'] as const) {
            fetches[kind].sort((x, y) => x.at - y.at)
            expect(maxInWindow(fetches[kind], 60_000)).toBeLessThanOrEqual(rate)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps a 60-s window of fetches under the rate against the worst caller: a full bucket spent as late as the hold allows, then every refill at once', () => {
    const o = opts(600, 60)
    let state = initialState(o.rates, o, 0)
    const fetches: { at: number; n: number }[] = []
    for (let now = 0; now < 300_000; now += 100) {
      const r = acquire(state, o, 'entity', 64, now)
      state = r.state
      // the first grants (the bucket) are spent late, all others at once
      if (r.grant.granted > 0) fetches.push({ at: now < 1000 ? now + o.holdMs - 1 : now, n: r.grant.granted })
    }
    fetches.sort((a, b) => a.at - b.at)
    const most = maxInWindow(fetches, 60_000)
    expect(most).toBeLessThanOrEqual(600)
    // and it uses most of it: the bucket plus 60 s of refill (100 + 500 × 60/70 = 528.6, give or take a grant)
    expect(most).toBeGreaterThanOrEqual(528)
  })

  it('is not stingy: a greedy caller gets the bucket plus the whole refill (rate × 60 / 70 a minute after the first)', () => {
    const o = opts(700, 70)
    const { size, refillPerMs } = bucketShape(700, o)
    expect(size).toBe(116) // a sixth of the rate at once
    let state = initialState(o.rates, o, 0)
    let total = 0
    for (let now = 0; now <= 600_000; now += 50) {
      const r = acquire(state, o, 'entity', 64, now)
      state = r.state
      total += r.grant.granted
    }
    // 116 at once, then (700 - 116) per 70 s: 116 + 584 × 600/70 = 5121.7
    expect(total).toBe(Math.floor(size + refillPerMs * 600_000))
    expect(total).toBe(5121)
  })

  it('says how long to wait for the next permit when none is left', () => {
    const o = opts(70, 70, { holdMs: 10_000, burstFraction: 1 / 7 })
    // size 10, refill 60 per 70 s: one permit every 1166.7 ms
    let state = initialState(o.rates, o, 0)
    const first = acquire(state, o, 'entity', 64, 0)
    expect(first.grant).toEqual({ granted: 10, holdMs: 10_000, waitMs: 0, pausedMs: 0 })
    const empty = acquire(first.state, o, 'entity', 1, 0)
    expect(empty.grant).toMatchObject({ granted: 0, waitMs: 1167, pausedMs: 0 })
    state = empty.state
    expect(acquire(state, o, 'entity', 1, 1166).grant.granted).toBe(0)
    expect(acquire(state, o, 'entity', 1, 1167).grant.granted).toBe(1)
  })
})

describe('permit bucket: budgets, batches, settings', () => {
  it('keeps search and entity budgets apart', () => {
    const o = opts(600, 60)
    let state = initialState(o.rates, o, 0)
    let entity = 0
    for (let i = 0; i < 10; i++) {
      const r = acquire(state, o, 'entity', 64, 0)
      state = r.state
      entity += r.grant.granted
    }
    expect(entity).toBe(100) // a sixth of 600
    expect(acquire(state, o, 'entity', 1, 0).grant.granted).toBe(0)
    const search = acquire(state, o, 'search', 64, 0)
    expect(search.grant.granted).toBe(10) // a sixth of 60, untouched by the entity calls
  })

  it('grants a batch of what is asked, at most maxBatch, at least one', () => {
    const o = opts(6000, 6000)
    const state = initialState(o.rates, o, 0)
    expect(acquire(state, o, 'entity', 7, 0).grant.granted).toBe(7)
    expect(acquire(state, o, 'entity', 500, 0).grant.granted).toBe(64)
    expect(acquire(state, o, 'entity', 0, 0).grant.granted).toBe(1)
    expect(acquire(state, o, 'entity', 2.9, 0).grant.granted).toBe(2)
  })

  it('shrinks a bucket at once when the rate was lowered since it was saved', () => {
    const before = opts(6000, 6000)
    const state = initialState(before.rates, before, 0)
    expect(acquire(state, opts(60, 60), 'entity', 64, 0).grant.granted).toBe(10)
  })

  it('reads a rate setting only when it is a whole number of at least 2', () => {
    expect(rateSetting('600', 40_000)).toBe(600)
    expect(rateSetting('600.9', 40_000)).toBe(600)
    expect(rateSetting('1', 40_000)).toBe(40_000)
    expect(rateSetting('lots', 40_000)).toBe(40_000)
    expect(rateSetting(undefined, 8_000)).toBe(8_000)
  })
})

describe('permit bucket: the pause on code 4', () => {
  const o = opts(600, 60)
  const start = (): BucketState => initialState(o.rates, o, 0)

  it('pauses both budgets for the Retry-After, then starts again from an empty bucket', () => {
    const paused = report(start(), o, 20, 1000)
    expect(paused.pausedUntil).toBe(21_000)
    for (const kind of ['entity', 'search'] as const) {
      expect(acquire(paused, o, kind, 5, 1000).grant).toEqual({ granted: 0, holdMs: o.holdMs, waitMs: 20_000, pausedMs: 20_000 })
      expect(acquire(paused, o, kind, 5, 20_999).grant).toMatchObject({ granted: 0, waitMs: 1, pausedMs: 1 })
    }
    // No burst after the pause: the first entity permit refills 1 / (500 / 70 000) = 140 ms after it.
    expect(acquire(paused, o, 'entity', 5, 21_000).grant).toMatchObject({ granted: 0, waitMs: 140, pausedMs: 0 })
    expect(acquire(paused, o, 'entity', 5, 21_140).grant.granted).toBe(1)
  })

  it('pauses exponentially when the upstream gives no Retry-After: 30 s, 60 s, 120 s … at most 10 min', () => {
    let state = report(start(), o, undefined, 0)
    expect(state.pausedUntil).toBe(30_000)
    state = report(state, o, undefined, 30_000)
    expect(state.pausedUntil).toBe(90_000)
    state = report(state, o, undefined, 90_000)
    expect(state.pausedUntil).toBe(210_000)
    for (let i = 0; i < 10; i++) state = report(state, o, undefined, state.pausedUntil)
    expect(state.pausedUntil - state.updatedAt).toBeLessThanOrEqual(600_000)
    expect(report(state, o, undefined, state.pausedUntil).pausedUntil - state.pausedUntil).toBe(600_000)
  })

  it('does not escalate on reports during a pause (stragglers), but extends to a longer Retry-After', () => {
    const first = report(start(), o, undefined, 0)
    const straggler = report(first, o, undefined, 5_000)
    expect(straggler).toMatchObject({ pausedUntil: 30_000, strikes: 1 })
    expect(report(straggler, o, 45, 10_000)).toMatchObject({ pausedUntil: 55_000, strikes: 1 })
    // After the pause, a new code 4 is a second strike: 60 s.
    expect(report(straggler, o, undefined, 30_000)).toMatchObject({ pausedUntil: 90_000, strikes: 2 })
  })

  it('forgets the strikes once it has granted again long after the last pause', () => {
    const o2 = opts(600, 60, { maxPauseMs: 60_000 })
    let state = report(initialState(o2.rates, o2, 0), o2, undefined, 0)
    state = report(state, o2, undefined, 30_000) // 60 s, strike 2, until 90 s
    state = acquire(state, o2, 'entity', 1, 200_000).state
    expect(state.strikes).toBe(0)
    expect(report(state, o2, undefined, 200_000).pausedUntil).toBe(230_000)
  })

  it('does not pause for a Retry-After of 0 (the upstream says: now), though the bucket starts again empty', () => {
    const state = report(start(), o, 0, 1000)
    expect(state.pausedUntil).toBeLessThanOrEqual(1000)
    expect(acquire(state, o, 'entity', 1, 1000).grant).toMatchObject({ granted: 0, waitMs: 140, pausedMs: 0 })
  })

  it('never pauses longer than maxPauseMs for a huge Retry-After', () => {
    expect(report(start(), o, 86_400, 0).pausedUntil).toBe(600_000)
  })
})
