import { describe, expect, it } from 'vitest'
import { GraphClient } from '../upstream/client'
import { imageSizeKey, imageSizes } from './image-sizes'
import { cacheKey } from './key'
import type { KVLike } from './kv'
import { TTL } from './ttl'

const TOKEN = 'MLY|4242|s3cr3tt0k3n'
const CLIENT_ID = `client:${'ab'.repeat(32)}` as const

/** The upstream's truth: a size per id (none for unknown ids; `nosize` ids answer without one). */
const sizeOf = (id: string) => ({ width: 1000 + Number(id) % 997, height: 700 + Number(id) % 13 })

function upstream(opts: { unknown?: Set<string>; nosize?: Set<string>; max?: number } = {}) {
  const asked: string[][] = []
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new URL(String(input))
    const fields = (url.searchParams.get('fields') ?? '').split(',')
    const body = (id: string) => Object.fromEntries(fields.filter((f) => f === 'id' || !opts.nosize?.has(id)).map((f) => [f, f === 'id' ? id : sizeOf(id)[f as 'width' | 'height']]))
    if (url.pathname === '/images') {
      const ids = url.searchParams.get('image_ids')!.split(',')
      asked.push(ids)
      if (ids.length > (opts.max ?? 200)) return new Response(JSON.stringify({ error: { code: 100, message: 'Too many ids' } }), { status: 400 })
      return new Response(JSON.stringify({ data: ids.filter((id) => !opts.unknown?.has(id)).map(body) }))
    }
    const id = url.pathname.slice(1)
    asked.push([id])
    if (opts.unknown?.has(id)) return new Response(JSON.stringify({ error: { code: 100, message: `Object with ID '${id}' does not exist` } }), { status: 400 })
    return new Response(JSON.stringify(body(id)))
  }) as typeof globalThis.fetch
  return { client: new GraphClient({ baseUrl: 'http://graph.test', token: TOKEN, fetch, sleep: async () => {} }), asked }
}

/** A KV with bulk reads (an array of keys answers a Map, ≤ 100 keys), recording operations. */
function fakeKv(o: { bulk?: boolean; failing?: boolean } = {}) {
  const map = new Map<string, { text: string; ttl?: number; metadata?: unknown }>()
  const ops = { bulkReads: 0, reads: 0, puts: 0 }
  const kv = {
    async get(key: string | string[], _type: 'text') {
      if (o.failing) throw new Error('KV down')
      if (Array.isArray(key)) {
        if (!o.bulk) return null
        if (key.length > 100) throw new Error('KV GET_BULK: at most 100 keys')
        ops.bulkReads++
        return new Map(key.map((k) => [k, map.get(k)?.text ?? null]))
      }
      ops.reads++
      return map.get(key)?.text ?? null
    },
    async put(key: string, text: string, opts?: { expirationTtl?: number; metadata?: unknown }) {
      if (o.failing) throw new Error('KV down')
      ops.puts++
      map.set(key, { text, ttl: opts?.expirationTtl, metadata: opts?.metadata })
    },
  }
  return { kv: kv as unknown as KVLike, map, ops }
}

const idsOf = (n: number, from = 5000) => Array.from({ length: n }, (_, i) => String(from + i))

describe('imageSizes', () => {
  it('keeps sizes under the key the image route keeps them under', async () => {
    expect(await imageSizeKey('315219450124680', 'server')).toBe(await cacheKey('entity', { id: '315219450124680', fields: 'width,height' }))
    expect(await imageSizeKey('315219450124680', CLIENT_ID)).toBe(await cacheKey('entity', { id: '315219450124680', fields: 'width,height', identity: CLIENT_ID }))
  })

  it('reads misses in batches, keeps each a month with the time written, then answers them from KV alone', async () => {
    const { kv, map, ops } = fakeKv({ bulk: true })
    const up = upstream()
    const ids = idsOf(150)
    const first = await imageSizes(kv, up.client, 'server', ids, { batch: 100 })
    expect(up.asked.map((a) => a.length)).toEqual([100, 50])
    expect(first.requests).toBe(2)
    expect([...first.sizes]).toEqual(ids.map((id) => [id, sizeOf(id)]))
    expect(first.absent.size + first.unsized.size).toBe(0)
    expect(first.kv).toEqual({ reads: 2, writes: 150 })
    const entry = map.get(await imageSizeKey('5042', 'server'))!
    expect(JSON.parse(entry.text)).toEqual(sizeOf('5042'))
    expect(entry.ttl).toBe(TTL.imageSize)
    expect(TTL.imageSize).toBe(2592000)
    expect((entry.metadata as { written: number }).written).toBeGreaterThan(Date.now() - 60_000)

    const second = await imageSizes(kv, up.client, 'server', [...ids].reverse(), { batch: 100 })
    expect(up.asked).toHaveLength(2)
    expect(second.requests).toBe(0)
    expect(second.kv).toEqual({ reads: 2, writes: 0 })
    expect(ops.bulkReads).toBe(4)
    expect([...second.sizes.keys()]).toEqual([...ids].reverse())
    expect(second.sizes.get('5100')).toEqual(sizeOf('5100'))
  })

  it('asks the upstream only for the sizes KV does not keep', async () => {
    const { kv } = fakeKv({ bulk: true })
    const up = upstream()
    await imageSizes(kv, up.client, 'server', ['1', '2', '3'], { batch: 100 })
    const r = await imageSizes(kv, up.client, 'server', ['2', '4', '1', '5'], { batch: 100 })
    expect(up.asked).toEqual([['1', '2', '3'], ['4', '5']])
    expect([...r.sizes]).toEqual(['2', '4', '1', '5'].map((id) => [id, sizeOf(id)]))
  })

  it('reads one key at a time from a KV without bulk reads', async () => {
    const { kv, ops } = fakeKv({ bulk: false })
    const up = upstream()
    await imageSizes(kv, up.client, 'server', idsOf(5), { batch: 100 })
    const r = await imageSizes(kv, up.client, 'server', idsOf(5), { batch: 100 })
    expect(r.requests).toBe(0)
    expect(r.sizes.size).toBe(5)
    expect(ops.reads).toBe(10)
    // The failed bulk attempt is counted too: it is an operation.
    expect(r.kv.reads).toBe(6)
  })

  it('hands the writes to defer: the answer does not wait for KV', async () => {
    const { kv, ops } = fakeKv({ bulk: true })
    const deferred: Promise<unknown>[] = []
    const r = await imageSizes(kv, upstream().client, 'server', idsOf(3), { batch: 100, defer: (p) => deferred.push(p) })
    expect(r.sizes.size).toBe(3)
    expect(deferred).toHaveLength(3)
    await Promise.all(deferred)
    expect(ops.puts).toBe(3)
  })

  it('reports unknown ids as absent and images without a size as unsized, keeping neither', async () => {
    const { kv, map } = fakeKv({ bulk: true })
    const up = upstream({ unknown: new Set(['8']), nosize: new Set(['9']) })
    const r = await imageSizes(kv, up.client, 'server', ['7', '8', '9'], { batch: 100 })
    expect([...r.sizes]).toEqual([['7', sizeOf('7')]])
    expect([...r.absent]).toEqual(['8'])
    expect([...r.unsized]).toEqual(['9'])
    expect(map.size).toBe(1)
  })

  it('keeps a client identity’s sizes apart from the server’s', async () => {
    const { kv } = fakeKv({ bulk: true })
    const up = upstream()
    await imageSizes(kv, up.client, 'server', ['1', '2'], { batch: 100 })
    const r = await imageSizes(kv, up.client, CLIENT_ID, ['1', '2'], { batch: 100 })
    expect(r.requests).toBe(1)
    expect(up.asked).toEqual([['1', '2'], ['1', '2']])
  })

  it('halves with the upstream and says the size it ended with', async () => {
    const up = upstream({ max: 10 })
    const r = await imageSizes(undefined, up.client, 'server', idsOf(30), { batch: 30 })
    expect(r.batch).toBe(8)
    expect(r.sizes.size).toBe(30)
  })

  it('works with a failing KV: every size from the upstream, no error', async () => {
    const { kv } = fakeKv({ failing: true })
    const up = upstream()
    const r = await imageSizes(kv, up.client, 'server', idsOf(4), { batch: 100 })
    expect(r.sizes.size).toBe(4)
    expect(up.asked).toHaveLength(1)
  })

  it('never reads more than 100 keys at once', async () => {
    const { kv, ops } = fakeKv({ bulk: true })
    const r = await imageSizes(kv, upstream().client, 'server', idsOf(250), { batch: 100 })
    expect(r.kv.reads).toBe(3)
    expect(ops.bulkReads).toBe(3)
  })
})
