import { describe, expect, it } from 'vitest'
import { createLimiter } from './limiter'

describe('createLimiter', () => {
  it('runs at most n at once, in FIFO order, and frees slots on failure', async () => {
    const limit = createLimiter(2)
    const order: number[] = []
    let active = 0
    let peak = 0
    const task = (i: number, fail = false) =>
      limit.run(async () => {
        active++
        peak = Math.max(peak, active)
        order.push(i)
        await new Promise((r) => setTimeout(r, 1))
        active--
        if (fail) throw new Error('boom')
        return i
      })
    const results = await Promise.allSettled([task(0), task(1, true), task(2), task(3), task(4, true), task(5)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(peak).toBe(2)
    expect(limit.peak).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    expect(limit.active).toBe(0)
    expect(limit.pending).toBe(0)
  })

  it('rejects a size below 1', () => {
    expect(() => createLimiter(0)).toThrow(RangeError)
  })
})

// Found by mutation testing (`npm run mutate`).
describe('createLimiter, pinned', () => {
  it('takes a single slot', async () => {
    const limit = createLimiter(1)
    const order: string[] = []
    const task = (name: string) => limit.run(async () => {
      order.push(`${name}+`)
      await new Promise((r) => setTimeout(r, 1))
      order.push(`${name}-`)
    })
    await Promise.all([task('a'), task('b')])
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-'])
  })

  it('keeps the highest number of slots held, not the latest', async () => {
    const limit = createLimiter(4)
    await Promise.all([limit.run(async () => 1), limit.run(async () => 2)])
    await limit.run(async () => 3)
    expect(limit.peak).toBe(2)
  })
})
