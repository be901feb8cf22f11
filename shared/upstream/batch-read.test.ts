import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fuzzParameters } from '../../test/support/fuzz'
import { batchIdsSetting, chunksOf, DEFAULT_BATCH_IDS, readImages } from './batch-read'
import { GraphClient, type GraphClientOptions } from './client'
import { UpstreamError } from './errors'

const TOKEN = 'MLY|4242|s3cr3tt0k3n'
const TOO_MANY = (n: number) => ({ error: { message: `(#100) Too many ids: ${n} asked, at most 30`, type: 'GraphMethodException', code: 100, fbtrace_id: 'x' } })
const NOT_EXIST = (id: string) => ({ error: { message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions`, type: 'GraphMethodException', code: 100, fbtrace_id: 'x' } })

interface UpstreamShape {
  /** Most ids a batch may ask; past it the batch is refused. */
  max: number
  refusal?: '400' | '500'
  /** Ids the upstream does not know (left out of batches, not_found alone). */
  unknown?: Set<string>
  /** Ids it knows alone but leaves out of batch answers. */
  omitted?: Set<string>
  /** A fixed failure for every request. */
  always?: { status: number; body: unknown; headers?: Record<string, string> }
}

interface Asked {
  kind: 'batch' | 'one'
  ids: string[]
  fields: string
  refused: boolean
}

/** An in-memory Graph upstream for `/images?image_ids=` and `/{id}`, recording what it was asked. */
function upstream(shape: UpstreamShape) {
  const asked: Asked[] = []
  const image = (id: string) => ({ id, thumb_original_url: `https://thumbs.test/${id}.jpg`, width: 4000 + Number(id.slice(-2)), height: 3000 })
  const pick = (o: Record<string, unknown>, fields: string) => Object.fromEntries(fields.split(',').map((f) => [f, o[f]]))
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
  const fetch = (async (input: RequestInfo | URL) => {
    const url = new URL(String(input))
    const fields = url.searchParams.get('fields') ?? 'id'
    if (url.pathname === '/images') {
      const ids = (url.searchParams.get('image_ids') ?? '').split(',')
      const refused = ids.length > shape.max
      asked.push({ kind: 'batch', ids, fields, refused: refused || !!shape.always })
      if (shape.always) return answer(shape.always.status, shape.always.body, shape.always.headers)
      if (refused) return shape.refusal === '500' ? answer(500, { error: { message: 'An unknown error occurred', code: 1 } }) : answer(400, TOO_MANY(ids.length))
      const data = ids.filter((id) => !shape.unknown?.has(id) && !shape.omitted?.has(id)).map((id) => pick(image(id), fields))
      return answer(200, { data })
    }
    const id = decodeURIComponent(url.pathname.slice(1))
    asked.push({ kind: 'one', ids: [id], fields, refused: !!shape.always })
    if (shape.always) return answer(shape.always.status, shape.always.body, shape.always.headers)
    if (shape.unknown?.has(id)) return answer(400, NOT_EXIST(id))
    return answer(200, pick(image(id), fields))
  }) as typeof globalThis.fetch
  return { fetch, asked, image, pick }
}

function clientFor(fetch: typeof globalThis.fetch, opts: Partial<GraphClientOptions> = {}) {
  return new GraphClient({ baseUrl: 'http://graph.test', token: TOKEN, fetch, sleep: async () => {}, random: () => 0.5, ...opts })
}

const idsOf = (n: number, from = 1000) => Array.from({ length: n }, (_, i) => String(from + i))

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError)
    return e as UpstreamError
  }
  throw new Error('expected a failure')
}

describe('chunksOf', () => {
  it('cuts ids into runs of at most size, each with its position', () => {
    expect(chunksOf(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([
      { at: 0, ids: ['a', 'b'] },
      { at: 2, ids: ['c', 'd'] },
      { at: 4, ids: ['e'] },
    ])
    expect(chunksOf([], 3)).toEqual([])
  })
})

describe('batchIdsSetting', () => {
  it.each<[string | undefined, number]>([
    [undefined, DEFAULT_BATCH_IDS],
    ['', DEFAULT_BATCH_IDS],
    ['0', DEFAULT_BATCH_IDS],
    ['-5', DEFAULT_BATCH_IDS],
    ['abc', DEFAULT_BATCH_IDS],
    ['25', 25],
    ['50.9', 50],
    ['1', 1],
  ])('BATCH_IDS=%j → %i', (v, n) => {
    expect(batchIdsSetting(v === undefined ? {} : { BATCH_IDS: v })).toBe(n)
  })
  it('defaults to 100', () => expect(DEFAULT_BATCH_IDS).toBe(100))
})

describe('readImages', () => {
  it('reads N ids in ceil(N / batch) requests of at most batch ids, each image as the upstream gives it', async () => {
    const up = upstream({ max: 200 })
    const client = clientFor(up.fetch)
    const ids = idsOf(250)
    const r = await readImages<{ id: string; thumb_original_url: string }>(client, ids, 'id,thumb_original_url', { batch: 100 })
    expect(up.asked.map((a) => a.ids.length).sort((a, b) => a - b)).toEqual([50, 100, 100])
    expect(up.asked.every((a) => a.kind === 'batch' && a.fields === 'id,thumb_original_url')).toBe(true)
    expect(client.stats.attempts).toBe(3)
    expect(r).toMatchObject({ batch: 100, requests: 3 })
    expect(r.absent.size).toBe(0)
    expect([...r.found.keys()].sort()).toEqual(ids)
    expect(r.found.get('1042')).toEqual({ id: '1042', thumb_original_url: 'https://thumbs.test/1042.jpg' })
  })

  it('asks each id once however often it is listed, and adds id to the fields', async () => {
    const up = upstream({ max: 200 })
    const r = await readImages(clientFor(up.fetch), ['7001', '7002', '7001', '7003', '7002'], 'width,height', { batch: 100 })
    expect(up.asked).toEqual([{ kind: 'batch', ids: ['7001', '7002', '7003'], fields: 'id,width,height', refused: false }])
    expect(r.found.get('7002')).toEqual({ id: '7002', width: 4002, height: 3000 })
    expect(r.found.size).toBe(3)
  })

  it('asks a single id with GET /{id}', async () => {
    const up = upstream({ max: 200 })
    const r = await readImages(clientFor(up.fetch), ['9'], 'id,width', { batch: 100 })
    expect(up.asked).toEqual([{ kind: 'one', ids: ['9'], fields: 'id,width', refused: false }])
    expect(r.found.get('9')).toEqual({ id: '9', width: 4009 })
  })

  it('asks nothing for no ids', async () => {
    const up = upstream({ max: 200 })
    const r = await readImages(clientFor(up.fetch), [], 'id', { batch: 100 })
    expect(up.asked).toEqual([])
    expect(r).toMatchObject({ batch: 100, requests: 0 })
  })

  it('halves a chunk refused with HTTP 400 code 100 until it fits, and reads the rest at the smaller size', async () => {
    const up = upstream({ max: 30, refusal: '400' })
    const client = clientFor(up.fetch)
    const ids = idsOf(100)
    const r = await readImages(client, ids, 'id,thumb_original_url', { batch: 100 })
    // 100 refused; 50 + 50 refused; then four chunks of 25.
    expect(up.asked.filter((a) => a.refused).map((a) => a.ids.length)).toEqual([100, 50, 50])
    expect(up.asked.filter((a) => !a.refused).map((a) => a.ids.length)).toEqual([25, 25, 25, 25])
    expect(r.batch).toBe(25)
    expect(r.requests).toBe(7)
    expect(client.stats.attempts).toBe(7)
    expect([...r.found.keys()].sort()).toEqual(ids)
  })

  it('tells each smaller size as it is learned, even when the read then fails', async () => {
    const up = upstream({ max: 30, refusal: '400' })
    const told: number[] = []
    const e = await failure(readImages(clientFor(up.fetch, { subrequestBudget: 1 }), idsOf(100), 'id', { batch: 100, onSmaller: (b) => told.push(b) }))
    expect(e.reason).toBe('budget_exhausted')
    expect(told).toEqual([50])
    const again: number[] = []
    await readImages(clientFor(up.fetch), idsOf(100), 'id', { batch: 100, onSmaller: (b) => again.push(b) })
    expect(again).toEqual([50, 25])
  })

  it('after a refusal, later chunks start at the smaller size (no chunk of the old size asked again)', async () => {
    const up = upstream({ max: 60, refusal: '400' })
    const r = await readImages(clientFor(up.fetch), idsOf(1000), 'id', { batch: 100 })
    // At most the first 6 chunks (all in flight together) were asked at 100; none after.
    const sizes = up.asked.map((a) => a.ids.length)
    expect(sizes.filter((s) => s === 100).length).toBeLessThanOrEqual(6)
    expect(sizes.slice(6).every((s) => s <= 50)).toBe(true)
    expect(r.batch).toBe(50)
    expect(r.found.size).toBe(1000)
  })

  it('halves a chunk refused with HTTP 500 after the client has retried it', async () => {
    const up = upstream({ max: 3, refusal: '500' })
    const client = clientFor(up.fetch, { maxAttempts: 3 })
    const ids = idsOf(6)
    const r = await readImages(client, ids, 'id', { batch: 6 })
    // 6 refused (3 attempts), then 3 + 3 fine.
    expect(up.asked.map((a) => [a.ids.length, a.refused])).toEqual([[6, true], [6, true], [6, true], [3, false], [3, false]])
    expect(r).toMatchObject({ batch: 3, requests: 3 })
    expect(client.stats).toMatchObject({ requests: 3, attempts: 5, retries: 2 })
    expect([...r.found.keys()].sort()).toEqual(ids)
  })

  it('an outage (5xx on every request) teaches no smaller size: nothing passed at one', async () => {
    const up = upstream({ max: 200, always: { status: 503, body: { error: { message: 'down', code: 2 } } } })
    const told: number[] = []
    const e = await failure(readImages(clientFor(up.fetch, { maxAttempts: 1 }), idsOf(100), 'id', { batch: 100, onSmaller: (b) => told.push(b) }))
    expect(e.reason).toBe('unavailable')
    // Halved within the read, but not told: a size learned from an outage would make every read for
    // the next hour ask one id a request.
    expect(up.asked.some((a) => a.ids.length < 100)).toBe(true)
    expect(told).toEqual([])
  })

  it('a size refused with HTTP 500 is told once a smaller chunk has passed, and only then', async () => {
    const up = upstream({ max: 30, refusal: '500' })
    const told: number[] = []
    const r = await readImages(clientFor(up.fetch, { maxAttempts: 1 }), idsOf(100), 'id', { batch: 100, onSmaller: (b) => told.push(b) })
    expect(r.found.size).toBe(100)
    // 100 and 50 refused; 25 passed: 25 is told, once.
    expect(told).toEqual([25])
  })

  it('halves down to single ids, asked with GET /{id}', async () => {
    const up = upstream({ max: 1, refusal: '400' })
    const ids = ['11', '12', '13', '14', '15']
    const r = await readImages(clientFor(up.fetch), ids, 'id,width', { batch: 5 })
    // 5 refused → 3 and 2 refused → (a 2 refused, as the answers interleave) → singles.
    const refused = up.asked.filter((a) => a.refused).map((a) => a.ids.length)
    expect(refused.slice(0, 1)).toEqual([5])
    expect([[2, 3, 5], [2, 2, 3, 5]]).toContainEqual([...refused].sort())
    const singles = up.asked.filter((a) => a.kind === 'one').map((a) => a.ids[0]).sort()
    expect(singles).toEqual(ids)
    expect(r.batch).toBe(1)
    expect(r.found.get('13')).toEqual({ id: '13', width: 4013 })
    expect(r.absent.size).toBe(0)
  })

  it('asks alone an id a chunk’s answer leaves out: found when the upstream knows it, absent when it does not', async () => {
    const up = upstream({ max: 200, unknown: new Set(['1003', '1007']), omitted: new Set(['1005']) })
    const client = clientFor(up.fetch)
    const ids = idsOf(10)
    const r = await readImages(client, ids, 'id,thumb_original_url', { batch: 100 })
    expect(up.asked.map((a) => `${a.kind}:${a.ids.length === 1 ? a.ids[0] : a.ids.length}`).sort()).toEqual(['batch:10', 'one:1003', 'one:1005', 'one:1007'])
    expect([...r.absent].sort()).toEqual(['1003', '1007'])
    expect(r.found.get('1005')).toEqual({ id: '1005', thumb_original_url: 'https://thumbs.test/1005.jpg' })
    expect([...r.found.keys(), ...r.absent].sort()).toEqual(ids)
    expect(r.requests).toBe(4)
  })

  it('ignores an element for an id it did not ask, and still asks alone the one left out', async () => {
    let n = 0
    const fetch = (async (input: RequestInfo | URL) => {
      n++
      const url = new URL(String(input))
      if (url.pathname === '/images') return new Response(JSON.stringify({ data: [{ id: '1' }, { id: '99' }, null] }))
      return new Response(JSON.stringify({ id: '2' }))
    }) as typeof globalThis.fetch
    const r = await readImages(clientFor(fetch), ['1', '2'], 'id', { batch: 10 })
    expect(n).toBe(2)
    expect([...r.found.keys()].sort()).toEqual(['1', '2'])
  })

  it('throws bad_response when the answer has no data list', async () => {
    const fetch = (async () => new Response(JSON.stringify({ images: [] }))) as unknown as typeof globalThis.fetch
    expect((await failure(readImages(clientFor(fetch), ['1', '2'], 'id', { batch: 10 }))).reason).toBe('bad_response')
  })

  it.each<[string, UpstreamShape['always'], string]>([
    ['a rate limit (HTTP 429)', { status: 429, body: { error: { code: 4, message: 'Application request limit reached' } } }, 'rate_limited'],
    ['the app limit as HTTP 403 code 4', { status: 403, body: { error: { code: 4, message: 'Application request limit reached', is_transient: true } } }, 'rate_limited'],
    ['a rejected token', { status: 401, body: { error: { type: 'OAuthException', code: 190, message: 'Invalid OAuth access token' } } }, 'unauthorized'],
  ])('throws %s at once, without halving', async (_, always, reason) => {
    const up = upstream({ max: 200, always })
    const e = await failure(readImages(clientFor(up.fetch, { maxAttempts: 2 }), idsOf(40), 'id', { batch: 40 }))
    expect(e.reason).toBe(reason)
    expect(up.asked.every((a) => a.ids.length === 40)).toBe(true)
  })

  it('throws the governor’s pacing without sending anything', async () => {
    const up = upstream({ max: 200 })
    const permits = { take: async () => ({ retryAfterSeconds: 12 }), report: async () => {} }
    const e = await failure(readImages(clientFor(up.fetch, { permits }), idsOf(40), 'id', { batch: 10 }))
    expect(e).toMatchObject({ reason: 'rate_limited', paced: true, retryAfterSeconds: 12 })
    expect(up.asked).toEqual([])
  })

  it('throws budget_exhausted and starts no chunk after it', async () => {
    const up = upstream({ max: 200 })
    const client = clientFor(up.fetch, { subrequestBudget: 2 })
    const e = await failure(readImages(client, idsOf(50), 'id', { batch: 10 }))
    expect(e.reason).toBe('budget_exhausted')
    expect(up.asked.length).toBe(2)
    expect(client.stats.attempts).toBe(2)
  })

  it('throws when an id asked alone fails other than not_found', async () => {
    const up = upstream({ max: 1, refusal: '400' })
    let calls = 0
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input))
      if (url.pathname === '/images') return up.fetch(input, init)
      calls++
      return new Response('{"error":{"code":2,"message":"down"}}', { status: 503 })
    }) as typeof globalThis.fetch
    const e = await failure(readImages(clientFor(fetch, { maxAttempts: 1 }), ['1', '2'], 'id', { batch: 2 }))
    expect(e.reason).toBe('unavailable')
    expect(calls).toBeGreaterThanOrEqual(1)
  })

  it('refuses a batch size that is not a whole number ≥ 1', async () => {
    const up = upstream({ max: 200 })
    for (const batch of [0, -1, 1.5, Number.NaN]) await expect(readImages(clientFor(up.fetch), ['1'], 'id', { batch })).rejects.toThrow(RangeError)
  })

  it('property: every id asked ends found or absent, once, at no more requests than the halving needs', async () => {
    const idSet = fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { minLength: 0, maxLength: 120 }).map((a) => a.map(String))
    await fc.assert(
      fc.asyncProperty(
        idSet,
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 80 }),
        fc.constantFrom<'400' | '500'>('400', '500'),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        async (ids, max, batch, refusal, isUnknown, isOmitted) => {
          const unknown = new Set(ids.filter((id) => isUnknown(id)))
          const omitted = new Set(ids.filter((id) => !unknown.has(id) && isOmitted(id)))
          const up = upstream({ max, refusal, unknown, omitted })
          const r = await readImages(clientFor(up.fetch, { maxAttempts: 1 }), [...ids, ...ids.slice(0, 5)], 'id,width', { batch })
          // found ∪ absent = the ids asked, disjoint.
          expect([...r.found.keys(), ...r.absent].sort()).toEqual([...ids].sort())
          expect([...r.absent].sort()).toEqual([...unknown].sort())
          for (const [id, image] of r.found) expect(image).toEqual(up.pick(up.image(id), 'id,width'))
          // Each id is in exactly one answered batch or single read, plus one single read when a
          // batch left it out; it is in a refused request at most once per halving of its chunk.
          const halvings = Math.ceil(Math.log2(Math.max(1, batch))) + 1
          for (const id of ids) {
            const answered = up.asked.filter((a) => !a.refused && a.ids.includes(id)).length
            const inBatch = up.asked.some((a) => !a.refused && a.kind === 'batch' && a.ids.includes(id))
            expect(answered).toBe(inBatch && (unknown.has(id) || omitted.has(id)) ? 2 : 1)
            expect(up.asked.filter((a) => a.refused && a.ids.includes(id)).length).toBeLessThanOrEqual(halvings)
          }
          // No refusal at all when the batch fits: exactly ceil(N / batch) batches plus the singles.
          if (batch <= max && ids.length > 0) {
            const n = ids.length
            const chunks = Math.ceil(n / batch)
            const lastIsSingle = n % batch === 1 || batch === 1
            const batches = up.asked.filter((a) => a.kind === 'batch').length
            expect(batches).toBe(batch === 1 ? 0 : chunks - (lastIsSingle ? 1 : 0))
            expect(up.asked.filter((a) => a.refused).length).toBe(0)
          }
          expect(r.batch).toBeLessThanOrEqual(batch)
          if (up.asked.some((a) => a.refused)) expect(r.batch).toBeLessThanOrEqual(max)
        },
      ),
      fuzzParameters(300),
    )
  })
})
