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
    expect(next.verdict).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60 })
  })

  it('refuses a cost that does not fit though some points are left', () => {
    const r = takePoints({ start: 0, used: 1 }, { cost: 10, ...minute }, 1000)
    expect(r.verdict).toEqual({ allowed: false, limit: 3, remaining: 2, resetSeconds: 59 })
    expect(r.state.used).toBe(1)
  })

  it('charges a forced cost past the limit, remaining floored at 0', () => {
    const r = takePoints({ start: 0, used: 2 }, { cost: 9, force: true, ...minute }, 30_500)
    expect(r.state.used).toBe(11)
    expect(r.verdict).toEqual({ allowed: true, limit: 3, remaining: 0, resetSeconds: 30 })
  })

  it('gives at least 1 second to reset, even at the window edge', () => {
    expect(takePoints(undefined, { cost: 1, ...minute }, 59_999).verdict.resetSeconds).toBe(1)
  })
})

describe('rateLimitHeaders', () => {
  it('adds Retry-After to a refusal only', () => {
    expect(rateLimitHeaders({ allowed: true, limit: 600, remaining: 599, resetSeconds: 40 })).toEqual({ 'ratelimit-limit': '600', 'ratelimit-remaining': '599', 'ratelimit-reset': '40' })
    expect(rateLimitHeaders({ allowed: false, limit: 600, remaining: 0, resetSeconds: 12 })).toEqual({ 'ratelimit-limit': '600', 'ratelimit-remaining': '0', 'ratelimit-reset': '12', 'retry-after': '12' })
  })
})
