import { describe, expect, it } from 'vitest'
import { rateLimitHeaders, takePoints, type WindowState } from './rate-window'

const minute = { limit: 3, windowSeconds: 60 }

describe('takePoints', () => {
  it('charges until the limit, then refuses without charging', () => {
    let state: WindowState | undefined
    const seen: [boolean, number][] = []
    for (let i = 0; i < 5; i++) {
      const r = takePoints(state, { cost: 1, ...minute }, 120_000 + i)
      state = r.state
      seen.push([r.verdict.allowed, r.verdict.remaining])
    }
    expect(seen).toEqual([[true, 2], [true, 1], [true, 0], [false, 0], [false, 0]])
    expect(state).toEqual({ start: 120_000, used: 3 })
  })

  it('starts a new window at the next multiple of its length', () => {
    const full = { start: 120_000, used: 3 }
    expect(takePoints(full, { cost: 1, ...minute }, 179_999).verdict.allowed).toBe(false)
    const next = takePoints(full, { cost: 1, ...minute }, 180_000)
    expect(next.state).toEqual({ start: 180_000, used: 1 })
    expect(next.verdict).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60, charged: 1 })
  })

  it('refuses a cost that does not fit though some points are left', () => {
    const r = takePoints({ start: 0, used: 1 }, { cost: 10, ...minute }, 1000)
    expect(r.verdict).toEqual({ allowed: false, limit: 3, remaining: 2, resetSeconds: 59, charged: 0 })
    expect(r.state.used).toBe(1)
  })

  it('charges a forced cost past the limit, remaining floored at 0', () => {
    const r = takePoints({ start: 0, used: 2 }, { cost: 9, force: true, ...minute }, 30_500)
    expect(r.state.used).toBe(11)
    expect(r.verdict).toEqual({ allowed: true, limit: 3, remaining: 0, resetSeconds: 30, charged: 9 })
  })

  it('reserves as much of a cost as is left (at least 1 point), and refuses with none left', () => {
    const minute10 = { limit: 10, windowSeconds: 60 }
    expect(takePoints({ start: 0, used: 0 }, { cost: 4, upTo: true, ...minute10 }, 1000)).toEqual({ state: { start: 0, used: 4 }, verdict: { allowed: true, limit: 10, remaining: 6, resetSeconds: 59, charged: 4 } })
    expect(takePoints({ start: 0, used: 7 }, { cost: 4, upTo: true, ...minute10 }, 1000)).toEqual({ state: { start: 0, used: 10 }, verdict: { allowed: true, limit: 10, remaining: 0, resetSeconds: 59, charged: 3 } })
    expect(takePoints({ start: 0, used: 10 }, { cost: 4, upTo: true, ...minute10 }, 1000)).toEqual({ state: { start: 0, used: 10 }, verdict: { allowed: false, limit: 10, remaining: 0, resetSeconds: 59, charged: 0 } })
  })

  it('gives points back for a negative cost, never below 0 used', () => {
    expect(takePoints({ start: 0, used: 5 }, { cost: -3, force: true, ...minute }, 1000).state).toEqual({ start: 0, used: 2 })
    // In a new window, a reservation from the last one gives nothing back.
    expect(takePoints({ start: 0, used: 2 }, { cost: -9, force: true, ...minute }, 60_000)).toMatchObject({ state: { start: 60_000, used: 0 }, verdict: { charged: 0, remaining: 3 } })
  })

  it('gives at least 1 second to reset, even at the window edge', () => {
    expect(takePoints(undefined, { cost: 1, ...minute }, 59_999).verdict.resetSeconds).toBe(1)
  })
})

describe('rateLimitHeaders', () => {
  it('adds Retry-After to a refusal only', () => {
    expect(rateLimitHeaders({ allowed: true, limit: 600, remaining: 599, resetSeconds: 40, charged: 1 })).toEqual({ 'ratelimit-limit': '600', 'ratelimit-remaining': '599', 'ratelimit-reset': '40' })
    expect(rateLimitHeaders({ allowed: false, limit: 600, remaining: 0, resetSeconds: 12, charged: 0 })).toEqual({ 'ratelimit-limit': '600', 'ratelimit-remaining': '0', 'ratelimit-reset': '12', 'retry-after': '12' })
  })
})
