import { describe, expect, it } from 'vitest'
import { maxInWindow, Stats } from './stats'

describe('stats: requests per window', () => {
  it('counts the most requests in any window [t, t + span)', () => {
    expect(maxInWindow([], 60_000)).toBe(0)
    expect(maxInWindow([0, 10, 59_999, 60_000], 60_000)).toBe(3)
    expect(maxInWindow([0, 60_000, 60_001, 119_999, 120_000], 60_000)).toBe(3)
  })

  it('keeps each request’s arrival by the budget it spends, and counts them per minute', () => {
    const s = new Stats()
    s.begin('map_features', new URL('http://x/map_features?bbox=1,2,3,4'), true, 'MLY|a')
    s.begin('entity', new URL('http://x/123?fields=id'), true, 'MLY|a')
    s.begin('detections', new URL('http://x/123/detections'), true, 'MLY|a')
    const snap = s.snapshot()
    expect(snap.times.search).toHaveLength(1)
    expect(snap.times.entity).toHaveLength(2)
    expect(Object.values(snap.perMinute).reduce((a, m) => ({ entity: a.entity + m.entity, search: a.search + m.search }), { entity: 0, search: 0 })).toEqual({ entity: 2, search: 1 })
  })
})
