import { describe, expect, it } from 'vitest'
import type { KVLike } from './kv'
import { KV_BULK_KEYS, KvBudget, KvBudgetExhausted, readTexts } from './kv-bulk'

/** A KV holding `held`, with or without bulk reads, recording each get's argument. */
function kvOf(held: Record<string, string>, bulk: boolean) {
  const gets: Array<string | string[]> = []
  const kv = {
    async get(key: string | string[]) {
      gets.push(key)
      if (Array.isArray(key)) {
        if (!bulk) throw new TypeError('get: key must be a string')
        if (key.length > KV_BULK_KEYS) throw new Error('at most 100 keys')
        return new Map(key.map((k) => [k, held[k] ?? null]))
      }
      return held[key] ?? null
    },
    async put() {},
  }
  return { kv: kv as unknown as KVLike, gets }
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`)

describe('readTexts', () => {
  it('reads up to 100 keys per operation and answers only the held ones', async () => {
    const { kv, gets } = kvOf({ k3: 'three', k150: 'one-fifty' }, true)
    const ops = { reads: 0 }
    const out = await readTexts(kv, keys(201), ops)
    expect([...out]).toEqual([['k3', 'three'], ['k150', 'one-fifty']])
    expect(gets.map((g) => (Array.isArray(g) ? g.length : 1))).toEqual([100, 100, 1])
    expect(ops.reads).toBe(3)
  })

  it('falls back to one read per key where a list is refused, counting each', async () => {
    const { kv, gets } = kvOf({ k1: 'one' }, false)
    const ops = { reads: 0 }
    const out = await readTexts(kv, keys(3), ops)
    expect([...out]).toEqual([['k1', 'one']])
    expect(gets.filter((g) => typeof g === 'string')).toEqual(['k0', 'k1', 'k2'])
    expect(ops.reads).toBe(4)
  })

  it('holds nothing, without an error, when KV is unbound or failing', async () => {
    expect((await readTexts(undefined, keys(5))).size).toBe(0)
    const failing = { get: async () => Promise.reject(new Error('down')), put: async () => {} } as unknown as KVLike
    expect((await readTexts(failing, keys(5))).size).toBe(0)
  })

  it('reads nothing for no keys', async () => {
    const { kv, gets } = kvOf({}, true)
    expect((await readTexts(kv, [])).size).toBe(0)
    expect(gets).toEqual([])
  })
})

describe('KvBudget', () => {
  it('takes reads and writes from one bound: a write past it is skipped and counted, a read past it throws and takes nothing', () => {
    const b = new KvBudget(3)
    b.read(2)
    expect(b.write()).toBe(true)
    expect(b.left).toBe(0)
    expect(b.write()).toBe(false)
    expect(b.skipped).toBe(1)
    expect(() => b.read()).toThrow(KvBudgetExhausted)
    expect({ reads: b.reads, writes: b.writes, left: b.left }).toEqual({ reads: 2, writes: 1, left: 0 })
  })

  it('bounds readTexts: bulk reads taken one per 100 keys, and a read that does not fit is never made', async () => {
    const { kv, gets } = kvOf({ k3: 'three' }, true)
    const b = new KvBudget(2)
    expect([...(await readTexts(kv, keys(150), b))]).toEqual([['k3', 'three']])
    expect(b.reads).toBe(2)
    await expect(readTexts(kv, keys(1), b)).rejects.toThrow(KvBudgetExhausted)
    expect(gets).toHaveLength(2)
  })

  it('takes a group read key by key (no bulk reads) whole before making it', async () => {
    const { kv, gets } = kvOf({ k1: 'one' }, false)
    const b = new KvBudget(3)
    // The bulk attempt (1), then 3 reads that do not fit in the 2 left: none is made.
    await expect(readTexts(kv, keys(3), b)).rejects.toThrow(KvBudgetExhausted)
    expect(gets.filter((g) => typeof g === 'string')).toEqual([])
    const room = new KvBudget(4)
    expect([...(await readTexts(kv, keys(3), room))]).toEqual([['k1', 'one']])
    expect(room.reads).toBe(4)
  })
})
