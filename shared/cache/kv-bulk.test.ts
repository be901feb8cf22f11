import { describe, expect, it } from 'vitest'
import type { KVLike } from './kv'
import { KV_BULK_KEYS, readTexts } from './kv-bulk'

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
