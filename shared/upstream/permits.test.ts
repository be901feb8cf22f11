import { describe, expect, it } from 'vitest'
import { acquire, BUCKET_DEFAULTS, initialState, pauseOf, report, type BucketOptions, type Grant, type PermitKind } from './permit-bucket'
import { GovernedPermits, permitKind, type GovernorStub } from './permits'

/** A governor object on the pure bucket, with a clock the test moves; counts its calls. */
function fakeGovernor(rates = { entity: 6000, search: 600 }, o: Partial<BucketOptions> = {}) {
  const opts: BucketOptions = { ...BUCKET_DEFAULTS, rates, ...o }
  const clock = { now: 0 }
  let state = initialState(rates, opts, 0)
  const asks: { kind: PermitKind; count: number; granted: number }[] = []
  const reports: (number | undefined)[] = []
  const stub: GovernorStub = {
    async acquire(kind, count) {
      const r = acquire(state, opts, kind, count, clock.now)
      state = r.state
      asks.push({ kind, count, granted: r.grant.granted })
      return r.grant
    },
    async report(retryAfterSeconds) {
      reports.push(retryAfterSeconds)
      state = report(state, opts, retryAfterSeconds, clock.now)
      return pauseOf(state, opts, clock.now)
    },
  }
  const sleeps: number[] = []
  const sleep = async (ms: number) => {
    sleeps.push(ms)
    clock.now += ms
  }
  return { stub, clock, asks, reports, sleeps, sleep, now: () => clock.now }
}

describe('permitKind: which budget a path spends', () => {
  it('counts the search endpoints as search, everything else as entity', () => {
    expect(permitKind('/map_features')).toBe('search')
    expect(permitKind('/images')).toBe('search')
    expect(permitKind('/images/')).toBe('search')
    expect(permitKind('/image_ids')).toBe('entity')
    expect(permitKind('/123456')).toBe('entity')
    expect(permitKind('/123456/detections')).toBe('entity')
    expect(permitKind('/map_features_x')).toBe('entity')
  })
})

describe('GovernedPermits', () => {
  it('takes permits in growing batches: 100 fetches cost 7 object calls (2, 4, 8, 16, 32, 32, 32)', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    for (let i = 0; i < 100; i++) expect(await permits.take('entity')).toBeUndefined()
    expect(g.asks.map((a) => a.count)).toEqual([2, 4, 8, 16, 32, 32, 32])
    expect(permits.calls).toBe(7)
  })

  it('never asks for more than its limit (the client’s subrequest budget) in all', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { limit: 5, now: g.now, sleep: g.sleep })
    for (let i = 0; i < 5; i++) expect(await permits.take('entity')).toBeUndefined()
    expect(g.asks.map((a) => a.count)).toEqual([2, 3])
  })

  it('shares one object call among concurrent takes of one kind', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    const taken = await Promise.all(Array.from({ length: 6 }, () => permits.take('entity')))
    expect(taken).toEqual(Array(6).fill(undefined))
    // 6 at once: one call for 2, then the 4 still waiting share the call for 4
    expect(g.asks).toEqual([
      { kind: 'entity', count: 2, granted: 2 },
      { kind: 'entity', count: 4, granted: 4 },
    ])
  })

  it('asks for one search permit first (a sparse box is one request), then doubles', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    for (let i = 0; i < 7; i++) await permits.take('search')
    expect(g.asks.map((a) => a.count)).toEqual([1, 2, 4])
  })

  it('keeps the budgets apart: search permits are not spent on entity calls', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    await permits.take('search')
    await permits.take('entity')
    expect(g.asks.map((a) => a.kind)).toEqual(['search', 'entity'])
  })

  it('waits for a permit when the wait fits in maxWaitMs, and refuses with the wait in seconds when not', async () => {
    // rate 70/min, bucket 10: after 10 permits one every 1167 ms
    const g = fakeGovernor({ entity: 70, search: 70 }, { burstFraction: 1 / 7 })
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep, maxWaitMs: 2000, maxBatch: 64 })
    for (let i = 0; i < 10; i++) expect(await permits.take('entity')).toBeUndefined()
    expect(await permits.take('entity')).toBeUndefined()
    expect(g.sleeps).toEqual([1167])
    const tight = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep, maxWaitMs: 500 })
    expect(await tight.take('entity')).toEqual({ retryAfterSeconds: 2 })
  })

  it('drops held permits once their hold is over', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    await permits.take('entity') // took 2, holds 1
    g.clock.now += BUCKET_DEFAULTS.holdMs
    await permits.take('entity')
    expect(g.asks.map((a) => a.count)).toEqual([2, 4])
  })

  it('on a code 4 drops what it holds, tells the governor, and refuses at once for the pause', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep })
    for (let i = 0; i < 3; i++) await permits.take('entity') // holds 3 of 2 + 4
    await permits.report(30)
    expect(g.reports).toEqual([30])
    const calls = permits.calls
    expect(await permits.take('entity')).toEqual({ retryAfterSeconds: 30 })
    expect(await permits.take('search')).toEqual({ retryAfterSeconds: 30 })
    expect(permits.calls).toBe(calls) // refused locally, no object call
  })

  it('learns a pause from the governor (another client’s code 4) and waits it out when it is short', async () => {
    const g = fakeGovernor()
    await g.stub.report(3)
    const permits = new GovernedPermits(async () => g.stub, { now: g.now, sleep: g.sleep, maxWaitMs: 5000 })
    expect(await permits.take('entity')).toBeUndefined()
    // the pause (3 s), then the first refilled permit (1 / (5000 / 70 000) = 14 ms)
    expect(g.sleeps).toEqual([3000, 14])
  })

  it('refuses (never throws) when the governor cannot be reached', async () => {
    const clock = { now: 0 }
    const broken: GovernorStub = {
      acquire: async (): Promise<Grant> => {
        throw new Error('Durable Object reset')
      },
      report: async () => ({ granted: 0, holdMs: 0, waitMs: 0, pausedMs: 0 }),
    }
    const permits = new GovernedPermits(async () => broken, { now: () => clock.now, sleep: async (ms) => void (clock.now += ms), maxWaitMs: 2500 })
    expect(await permits.take('entity')).toEqual({ retryAfterSeconds: 1 })
    expect(clock.now).toBe(2000)
  })
})

describe('GovernedPermits, first ask', () => {
  it('starts from firstAsk when given (a sweep slice that means to spend its budget)', async () => {
    const g = fakeGovernor()
    const permits = new GovernedPermits(async () => g.stub, { firstAsk: { entity: 8 }, limit: 45, now: g.now, sleep: g.sleep })
    for (let i = 0; i < 40; i++) await permits.take('entity')
    expect(g.asks.map((a) => a.count)).toEqual([8, 16, 21])
    // search starts from 1 on its own; past the limit (45 asked in all) one at a time
    const search = new GovernedPermits(async () => g.stub, { firstAsk: { entity: 8 }, now: g.now, sleep: g.sleep })
    for (let i = 0; i < 3; i++) await search.take('search')
    await permits.take('search')
    expect(g.asks.slice(3).map((a) => [a.kind, a.count])).toEqual([
      ['search', 1],
      ['search', 2],
      ['search', 1],
    ])
  })
})
