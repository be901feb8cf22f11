import { describe, expect, it } from 'vitest'
import { DENSE_BOX as BOX, FakeUpstream, denseWorld } from './capped-upstream'
import { SweepBudgetError, dedupeById, sweepBbox } from './reference-sweep'

// The reference loop's own mechanics: its bound, its concurrency, its failures. What the sweep
// finds is tested with the steps it drives (shared/tiling/sweep.test.ts).
describe('sweepBbox, the reference loop', () => {
  it('throws SweepBudgetError past maxRequests, with the count, before spending more', async () => {
    const needed = (await sweepBbox(BOX, denseWorld().fetch)).requests
    await expect(sweepBbox(BOX, denseWorld().fetch, { maxRequests: needed })).resolves.toBeDefined()
    const up = denseWorld()
    const err = await sweepBbox(BOX, up.fetch, { maxRequests: needed - 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SweepBudgetError)
    expect((err as SweepBudgetError).limit).toBe(needed - 1)
    expect((err as SweepBudgetError).needed).toBeGreaterThan(needed - 1)
    expect(up.requests).toBeLessThanOrEqual(needed - 1)
    const few = denseWorld()
    await expect(sweepBbox(BOX, few.fetch, { maxRequests: 0 })).rejects.toThrow(SweepBudgetError)
    expect(few.requests).toBe(0)
  })

  it('with a span limit the long box is refused before any request when over maxRequests', async () => {
    const up = new FakeUpstream(23)
    const err = await sweepBbox([-180, 10, 180, 10.0001], up.fetch, { maxCellSpanDeg: 1, maxRequests: 200 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SweepBudgetError)
    expect((err as SweepBudgetError).needed).toBe(360)
    expect(up.requests).toBe(0)
  })

  it('never has more than `concurrency` requests in flight', async () => {
    for (const concurrency of [1, 3, 6]) {
      const up = denseWorld()
      await sweepBbox(BOX, up.fetch, { concurrency })
      expect(up.maxInFlight).toBeLessThanOrEqual(concurrency)
      if (concurrency > 1) expect(up.maxInFlight).toBeGreaterThan(1)
    }
  })

  it('rejects with the fetch error', async () => {
    const up = denseWorld()
    up.failOn = 3
    await expect(sweepBbox(BOX, up.fetch)).rejects.toThrow('upstream 503')
  })
})

describe('dedupeById', () => {
  it('keeps the first of each id and sorts numeric ids numerically', () => {
    const g = (id: string, n = 0) => ({ id, n })
    expect(dedupeById([g('10', 1), g('9'), g('10', 2), g('100')])).toEqual([g('9'), g('10', 1), g('100')])
  })
})
