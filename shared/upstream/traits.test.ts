import { describe, expect, it } from 'vitest'
import { batchSizeNow, forgetTraits, learnBatchMax, readTraits, rememberTraits, traitsKey, TRAITS_TTL_SECONDS, type TraitsKV, type TraitsMemory } from './traits'

const GRAPH = 'https://graph.mapillary.com'
const MIN = 60_000

/** A KV that honours expirationTtl on an injected clock and counts its operations. */
function fakeKv(clock: { now: number }) {
  const map = new Map<string, { text: string; expires: number; ttl?: number }>()
  const ops = { gets: 0, puts: 0 }
  const kv: TraitsKV = {
    async get(key) {
      ops.gets++
      const e = map.get(key)
      return e && e.expires > clock.now ? e.text : null
    },
    async delete(key) {
      map.delete(key)
    },
    async put(key, text, opts) {
      ops.puts++
      if (opts?.expirationTtl !== undefined && opts.expirationTtl < 60) throw new Error('KV PUT failed: 400 Invalid expiration_ttl of ' + opts.expirationTtl)
      map.set(key, { text, expires: opts?.expirationTtl ? clock.now + opts.expirationTtl * 1000 : Infinity, ttl: opts?.expirationTtl })
    },
  }
  return { kv, map, ops }
}

function setup(start = Date.UTC(2026, 11, 1, 20)) {
  const clock = { now: start }
  const store = fakeKv(clock)
  const isolate = (memory: TraitsMemory = new Map()) => ({ memory, now: () => clock.now })
  return { clock, ...store, isolate }
}

describe('upstream traits', () => {
  it('remembers nothing at first', async () => {
    const { kv, isolate } = setup()
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({})
  })

  it('remembers a patch in KV for an hour by default, under a key made of the upstream alone', async () => {
    const { kv, map, isolate } = setup()
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 50 }, a)
    expect(await readTraits(kv, GRAPH, a)).toEqual({ batchMax: 50 })
    const key = await traitsKey(GRAPH)
    expect(key).toMatch(/^upstream-traits:v1:[0-9a-f]{64}$/)
    expect([...map.keys()]).toEqual([key])
    expect(map.get(key)!.ttl).toBe(TRAITS_TTL_SECONDS)
    expect(TRAITS_TTL_SECONDS).toBe(3600)
  })

  it('is read by another isolate from KV, and forgotten by both after the TTL', async () => {
    const { kv, clock, isolate } = setup()
    await rememberTraits(kv, GRAPH, { detectionsExpansion: 'ids-only' }, isolate())
    const b = isolate()
    expect(await readTraits(kv, GRAPH, b)).toEqual({ detectionsExpansion: 'ids-only' })
    clock.now += 59 * MIN
    expect(await readTraits(kv, GRAPH, b)).toEqual({ detectionsExpansion: 'ids-only' })
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({ detectionsExpansion: 'ids-only' })
    clock.now += 1 * MIN + 1
    expect(await readTraits(kv, GRAPH, b)).toEqual({})
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({})
  })

  it('keeps each trait its own expiry: a later patch neither forgets nor extends another', async () => {
    const { kv, clock, map, isolate } = setup()
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 25 }, a)
    clock.now += 30 * MIN
    await rememberTraits(kv, GRAPH, { detectionsExpansion: 'expanded' }, a)
    expect(await readTraits(kv, GRAPH, a)).toEqual({ batchMax: 25, detectionsExpansion: 'expanded' })
    expect(map.get(await traitsKey(GRAPH))!.ttl).toBe(3600)
    clock.now += 31 * MIN
    expect(await readTraits(kv, GRAPH, a)).toEqual({ detectionsExpansion: 'expanded' })
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({ detectionsExpansion: 'expanded' })
  })

  it('answers from the isolate’s memory without a KV read once both traits are known', async () => {
    const { kv, ops, isolate } = setup()
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 100, detectionsExpansion: 'refused' }, a)
    const before = ops.gets
    for (let i = 0; i < 5; i++) expect(await readTraits(kv, GRAPH, a)).toEqual({ batchMax: 100, detectionsExpansion: 'refused' })
    expect(ops.gets).toBe(before)
  })

  it('looks in KV again, at most once a minute, for a trait it does not know (another isolate may have learned it)', async () => {
    const { kv, ops, clock, isolate } = setup()
    const a = isolate()
    expect(await readTraits(kv, GRAPH, a)).toEqual({})
    expect(ops.gets).toBe(1)
    await rememberTraits(kv, GRAPH, { detectionsExpansion: 'expanded' }, isolate())
    const before = ops.gets
    expect(await readTraits(kv, GRAPH, a)).toEqual({})
    expect(ops.gets).toBe(before)
    clock.now += MIN
    expect(await readTraits(kv, GRAPH, a)).toEqual({ detectionsExpansion: 'expanded' })
    expect(ops.gets).toBe(before + 1)
  })

  it('clamps a TTL under KV’s minimum to 60 s, in KV and in memory alike', async () => {
    const { kv, map, clock, isolate } = setup()
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 10 }, { ...a, ttlSeconds: 5 })
    expect(map.get(await traitsKey(GRAPH))!.ttl).toBe(60)
    clock.now += 59_000
    expect(await readTraits(kv, GRAPH, a)).toEqual({ batchMax: 10 })
    clock.now += 1_000
    expect(await readTraits(kv, GRAPH, a)).toEqual({})
  })

  it('keys by the upstream: another origin is another key; a trailing slash, a query or credentials are not', async () => {
    const keys = await Promise.all([GRAPH, `${GRAPH}/`, `${GRAPH}/?access_token=MLY|1|2`, 'https://user:pw@graph.mapillary.com'].map(traitsKey))
    expect(new Set(keys).size).toBe(1)
    expect(await traitsKey('http://127.0.0.1:8799')).not.toBe(keys[0])
    expect(await traitsKey('https://graph.mapillary.com/v4')).not.toBe(keys[0])
    const { kv, isolate } = setup()
    await rememberTraits(kv, 'http://127.0.0.1:8799', { batchMax: 7 }, isolate())
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({})
    expect(await readTraits(kv, 'http://127.0.0.1:8799/', isolate())).toEqual({ batchMax: 7 })
  })

  it('ignores nonsense: a malformed stored value, a batch maximum that is no whole number ≥ 1, an unknown behaviour', async () => {
    const { kv, map, isolate } = setup()
    map.set(await traitsKey(GRAPH), { text: '{"batchMax":{"value":"x","until":1e20},"detectionsExpansion":{"value":"maybe","until":1e20}}', expires: Infinity })
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({})
    map.set(await traitsKey(GRAPH), { text: 'not json', expires: Infinity })
    expect(await readTraits(kv, GRAPH, isolate())).toEqual({})
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 0 }, a)
    await rememberTraits(kv, GRAPH, { batchMax: 2.5 }, a)
    await rememberTraits(kv, GRAPH, { detectionsExpansion: 'sometimes' as never }, a)
    expect(await readTraits(kv, GRAPH, a)).toEqual({})
  })

  it('never fails on a failing KV: reads as nothing remembered, and the isolate still remembers what it learned', async () => {
    const broken: TraitsKV = {
      get: async () => {
        throw new Error('KV down')
      },
      put: async () => {
        throw new Error('KV down')
      },
    }
    const memory: TraitsMemory = new Map()
    expect(await readTraits(broken, GRAPH, { memory })).toEqual({})
    await rememberTraits(broken, GRAPH, { batchMax: 40 }, { memory })
    expect(await readTraits(broken, GRAPH, { memory })).toEqual({ batchMax: 40 })
    expect(await readTraits(undefined, GRAPH, { memory: new Map() })).toEqual({})
  })

  it('forgets, in this isolate and in KV', async () => {
    const { kv, map, isolate } = setup()
    const a = isolate()
    await rememberTraits(kv, GRAPH, { batchMax: 9, detectionsExpansion: 'expanded' }, a)
    await forgetTraits(kv, GRAPH, a)
    expect(map.size).toBe(0)
    expect(await readTraits(kv, GRAPH, a)).toEqual({})
  })
})

describe('the batch size through the traits', () => {
  it('batchSizeNow: the setting until a smaller batchMax is remembered, never past the setting', async () => {
    const { kv } = setup(Date.now())
    const up = 'https://graph.test/batch-size-now'
    expect(await batchSizeNow(kv, up, 100)).toBe(100)
    await rememberTraits(kv, up, { batchMax: 25 })
    expect(await batchSizeNow(kv, up, 100)).toBe(25)
    expect(await batchSizeNow(kv, up, 10)).toBe(10)
  })

  it('learnBatchMax remembers the last size told, and nothing when none was told', async () => {
    const { kv, ops } = setup(Date.now())
    const up = 'https://graph.test/learn-batch-max'
    await learnBatchMax(kv, up).remember()
    expect(ops.puts).toBe(0)
    const learn = learnBatchMax(kv, up)
    learn.onSmaller(50)
    learn.onSmaller(25)
    await learn.remember()
    expect((await readTraits(kv, up)).batchMax).toBe(25)
  })
})
