import { describe, expect, it } from 'vitest'
import { pollDelayMs, pollsWithin, POLL_MAX_MS, POLL_MIN_MS } from './poll'

describe('pollDelayMs', () => {
  it('asks every second for the first minute, then slows with the wait, never past 15 s', () => {
    expect(pollDelayMs(0)).toBe(POLL_MIN_MS)
    expect(pollDelayMs(59_000)).toBe(POLL_MIN_MS)
    expect(pollDelayMs(120_000)).toBe(2_000)
    expect(pollDelayMs(600_000)).toBe(10_000)
    expect(pollDelayMs(3_600_000)).toBe(POLL_MAX_MS)
  })

  it('never speeds up as the wait grows', () => {
    for (let t = 0; t < 1_000_000; t += 777) expect(pollDelayMs(t + 777)).toBeGreaterThanOrEqual(pollDelayMs(t))
  })
})

describe('pollsWithin: subrequests of a waiting run (Workers: at most 1,000 per invocation)', () => {
  it('a minute costs 59 asks, ten minutes about 200, an alarm’s 15-minute limit about 225', () => {
    expect(pollsWithin(60_000)).toBe(59)
    expect(pollsWithin(600_000)).toBeGreaterThan(150)
    expect(pollsWithin(600_000)).toBeLessThanOrEqual(200)
    expect(pollsWithin(15 * 60_000)).toBeLessThanOrEqual(230)
    // Plus the task call itself: far under 1,000 however long the run.
    expect(pollsWithin(15 * 60_000) + 1).toBeLessThan(1000)
  })
})
