import { describe, expect, it } from 'vitest'
import { ReadinessCache, type ProbeOutcome } from './readiness'

function clock(start: number) {
  const c = { t: start, now: () => c.t }
  return c
}

describe('ReadinessCache', () => {
  it('asks once per period and repeats the outcome with when it was checked', async () => {
    const time = clock(Date.UTC(2026, 11, 1, 18, 0, 0))
    const cache = new ReadinessCache(time.now)
    let asked = 0
    const outcomes: ProbeOutcome[] = [{ ready: true, upstream_status: 200 }, { ready: false, reason: 'upstream unreachable' }]
    const probe = async () => outcomes[asked++]!
    expect(await cache.read(probe, 30_000)).toEqual({ ready: true, upstream_status: 200, checked_at: '2026-12-01T18:00:00.000Z' })
    time.t += 29_999
    expect(await cache.read(probe, 30_000)).toEqual({ ready: true, upstream_status: 200, checked_at: '2026-12-01T18:00:00.000Z' })
    expect(asked).toBe(1)
    time.t += 1
    expect(await cache.read(probe, 30_000)).toEqual({ ready: false, reason: 'upstream unreachable', checked_at: '2026-12-01T18:00:30.000Z' })
    expect(asked).toBe(2)
  })

  it('lets concurrent callers share one probe', async () => {
    const cache = new ReadinessCache(clock(0).now)
    let asked = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const probe = async () => {
      asked++
      await gate
      return { ready: true }
    }
    const reads = [cache.read(probe, 1000), cache.read(probe, 1000), cache.read(probe, 1000)]
    release()
    expect((await Promise.all(reads)).map((r) => r.ready)).toEqual([true, true, true])
    expect(asked).toBe(1)
  })

  it('takes a probe that throws for not ready', async () => {
    const cache = new ReadinessCache(clock(0).now)
    const r = await cache.read(async () => {
      throw new Error('network lost')
    }, 1000)
    expect(r).toEqual({ ready: false, reason: 'readiness probe failed', checked_at: '1970-01-01T00:00:00.000Z' })
  })
})
