import { describe, expect, it } from 'vitest'
import { pump } from './pump'

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms))

describe('pump', () => {
  it('runs every item, never more than maxActive at once', async () => {
    let active = 0
    let peak = 0
    const done: number[] = []
    await pump({
      queue: Array.from({ length: 20 }, (_, i) => i),
      maxActive: 3,
      fits: () => true,
      run: async (i) => {
        peak = Math.max(peak, ++active)
        await tick(i % 3)
        active--
        done.push(i)
      },
    })
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(peak).toBe(3)
  })

  it('stops starting when the next item does not fit, counting the ones started in the same pass', async () => {
    let spent = 0
    const budget = 7
    const queue = Array.from({ length: 20 }, (_, i) => i)
    await pump({
      queue,
      maxActive: 6,
      // Each item spends 1 once it runs: without `starting`, the first pass would start 6 on a stale count.
      fits: (starting) => spent + starting < budget,
      run: async () => {
        await Promise.resolve()
        spent++
        await tick()
      },
    })
    expect(spent).toBe(budget)
    expect(queue).toHaveLength(20 - budget)
  })

  it('starts items that running work adds to the queue', async () => {
    const seen: string[] = []
    const queue = ['a']
    await pump({
      queue,
      maxActive: 2,
      fits: () => true,
      run: async (x) => {
        seen.push(x)
        await tick()
        if (x.length < 3) queue.push(`${x}0`, `${x}1`)
      },
    })
    expect(seen.sort()).toEqual(['a', 'a0', 'a00', 'a01', 'a1', 'a10', 'a11'])
  })

  it('rejects with the first error once the running items finish, starting nothing new', async () => {
    const finished: number[] = []
    const queue = [0, 1, 2, 3, 4]
    await expect(
      pump({
        queue,
        maxActive: 2,
        fits: () => true,
        run: async (i) => {
          await tick(i === 0 ? 1 : 5)
          if (i === 0) throw new Error('boom')
          finished.push(i)
        },
      }),
    ).rejects.toThrow('boom')
    expect(finished).toEqual([1])
    expect(queue).toEqual([2, 3, 4])
  })

  it('counts the items started in one pass even when the budget is below maxActive', async () => {
    let spent = 0
    const queue = Array.from({ length: 20 }, (_, i) => i)
    await pump({
      queue,
      maxActive: 6,
      fits: (starting) => spent + starting < 3,
      run: async () => {
        await Promise.resolve()
        spent++
        await tick()
      },
    })
    expect(spent).toBe(3)
    expect(queue).toHaveLength(17)
  })

  it('rejects with the error itself (the value, not just a matching message)', async () => {
    // rejects.toThrow('…') also passes on a rejection with undefined, so compare the object.
    const boom = new Error('boom')
    await expect(pump({ queue: [0], maxActive: 1, fits: () => true, run: async () => Promise.reject(boom) })).rejects.toBe(boom)
  })

  it('gives a group what the items cannot take: items first, groups of at most size(), at most overflow.maxActive at once', async () => {
    const queue = Array.from({ length: 30 }, (_, i) => i)
    const alone: number[] = []
    const grouped: number[][] = []
    let groups = 0
    let peakGroups = 0
    await pump({
      queue,
      maxActive: 6,
      fits: () => true,
      run: async (i) => {
        alone.push(i)
        await tick(5)
      },
      overflow: {
        maxActive: 3,
        size: () => 4,
        run: async (items) => {
          grouped.push(items)
          peakGroups = Math.max(peakGroups, ++groups)
          await tick(1)
          groups--
        },
      },
    })
    // The first pass: 0..5 alone, then three groups of four; the groups end first and take the rest.
    expect(alone.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5])
    expect(grouped.slice(0, 3)).toEqual([[6, 7, 8, 9], [10, 11, 12, 13], [14, 15, 16, 17]])
    expect(grouped.every((g) => g.length <= 4)).toBe(true)
    expect(peakGroups).toBe(3)
    expect([...alone, ...grouped.flat()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  it('starts no group while size() is 0, and gives the children a group pushes to the next groups', async () => {
    const queue = ['a', 'b', 'c']
    let room = 0
    const alone: string[] = []
    const grouped: string[][] = []
    await pump({
      queue,
      maxActive: 1,
      fits: () => true,
      run: async (x) => {
        alone.push(x)
        await tick(x === 'a' ? 1 : 30)
        room = 2
      },
      overflow: {
        maxActive: 1,
        size: () => room,
        run: async (items) => {
          grouped.push(items)
          await tick()
          if (items.includes('c')) queue.push('c0', 'c1', 'c2')
        },
      },
    })
    // 'a' alone and nothing grouped (room 0); then 'b' alone (30 ms) while the groups take 'c' and its children.
    expect(alone).toEqual(['a', 'b'])
    expect(grouped).toEqual([['c'], ['c0', 'c1'], ['c2']])
  })

})
