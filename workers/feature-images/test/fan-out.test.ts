/**
 * A map feature's images read in batches (`/images?image_ids=`, BATCH_IDS a request) through the
 * FeatureImagesJob Durable Object (inside workerd, against the stand-in's crowd: one feature seen in
 * N generated images, test/stand-in/src/crowd.ts). The crowd, the batch maximum and the counts are
 * the stand-in's global config, so every test of them lives in this one file and runs one after
 * another. Request counts come from the stand-in's own stats; the expected answer from its
 * per-image routes (`/{image}?fields=id,thumb_original_url`), as the Worker read it before batches.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { partName, type JobProgress } from '../../../shared/engine/job-runner'
import { GraphClient } from '../../../shared/upstream/client'
import { UpstreamError } from '../../../shared/upstream/errors'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import { forgetTraits, readTraits, rememberTraits } from '../../../shared/upstream/traits'
import { crowdOf } from '../../../test/stand-in/src/crowd'
import { featureImagesName, featureImagesTask, type FeatureImagesUnit } from '../src/feature-images-task'
import { standInCall } from '../../../test/support/stand-in-call'

const BUDGET = Number(env.SUBREQUEST_BUDGET)
const BATCH = Number(env.BATCH_IDS)
const UPSTREAM = env.MAPILLARY_GRAPH_URL
const THUMB_TTL_S = 3600

const standIn = standInCall(UPSTREAM)

/** A Graph read with the server's token, straight to the stand-in. */
async function upstreamGet(path: string): Promise<any> {
  const res = await fetch(`${UPSTREAM}${path}`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })
  if (!res.ok) throw new Error(`stand-in GET ${path}: HTTP ${res.status}`)
  return res.json()
}

/** `f` over `items`, `n` at a time, results in order. */
async function mapLimit<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }))
  return out
}

/** The body as the Worker made it before batches: the feature, then every image read alone, one `JSON.stringify`. */
async function formerAnswer(id: string): Promise<string> {
  const feature = await upstreamGet(`/${id}?fields=id,object_value,geometry,images`)
  const imageIds: string[] = feature.images?.data.map((i: { id: string }) => i.id) ?? []
  const images = await mapLimit(imageIds, 16, async (i) => {
    const img = await upstreamGet(`/${i}?fields=id,thumb_original_url`)
    return { id: img.id, thumb_original_url: img.thumb_original_url }
  })
  return JSON.stringify({ map_feature: { id: feature.id, object_value: feature.object_value ?? null, geometry: feature.geometry ?? null }, images })
}

/** Thumbnail URLs carry the second they were made: the same text but for it. */
const withoutExpiry = (text: string) => text.replace(/\?exp=\d+/g, '?exp=…')

const ask = (id: string, init?: RequestInit) => exports.default.fetch(`https://fi.test/v1/map-features/${id}/images`, init)
const stub = (id: string, name = featureImagesName({ map_feature_id: id })) => env.FEATURE_IMAGES_JOB.getByName(name)

interface Stats {
  requests: number
  byRoute: Record<string, number>
  statuses: Record<string, number>
  urls: string[]
}
const stats = (): Promise<Stats> => standIn('/__sandbox/stats')

/** What the stand-in was asked while `run` ran: requests by route, and each batch's size in order. */
async function asked<T>(run: () => Promise<T>): Promise<{ value: T; entity: number; images: number; batchSizes: number[] }> {
  const before = await stats()
  const value = await run()
  const after = await stats()
  const made = after.requests - before.requests
  expect(made, 'the stand-in keeps the last 500 URLs').toBeLessThanOrEqual(500)
  return {
    value,
    entity: after.byRoute.entity! - before.byRoute.entity!,
    images: after.byRoute.images! - before.byRoute.images!,
    batchSizes: after.urls.slice(after.urls.length - made).filter((u) => new URL(u).pathname === '/images').map((u) => new URL(u).searchParams.get('image_ids')!.split(',').length),
  }
}

function expectWithinBudget(p: JobProgress) {
  for (const s of p.slices) {
    expect(s.attempts, `slice ${s.n} (${s.kind}) attempts`).toBeLessThanOrEqual(BUDGET)
    expect(s.inFlightPeak, `slice ${s.n} in flight`).toBeLessThanOrEqual(6)
  }
}

const sum = (p: JobProgress, k: 'attempts' | 'units') => p.slices.reduce((a, s) => a + s[k], 0)

/**
 * Asks the feature of the crowd of `count` (counting what the stand-in was asked for it alone), then
 * checks the answer against the stand-in's truth and the per-image oracle.
 */
async function answersAsBefore(count: number) {
  const truth = crowdOf(count)
  const t0 = Math.floor(Date.now() / 1000)
  const cost = await asked(async () => {
    const res = await ask(truth.feature.id)
    return { res, text: await res.text() }
  })
  const t1 = Math.ceil(Date.now() / 1000)
  const { res, text } = cost.value
  expect(res.status, text.slice(0, 300)).toBe(200)
  const body = JSON.parse(text) as { map_feature: { id: string }; images: Array<{ id: string; thumb_original_url: string }> }
  expect(body.map_feature).toEqual({ id: truth.feature.id, object_value: truth.feature.object_value, geometry: { type: 'Point', coordinates: [truth.feature.lon, truth.feature.lat] } })
  expect(body.images.map((i) => i.id)).toEqual(truth.feature.images)
  for (const image of body.images) {
    const url = new URL(image.thumb_original_url)
    expect(`${url.origin}${url.pathname}`).toBe(`${UPSTREAM}/__sandbox/thumbs/${image.id}/original.jpg`)
    const exp = Number(url.searchParams.get('exp'))
    expect(exp).toBeGreaterThanOrEqual(t0 + THUMB_TTL_S)
    expect(exp).toBeLessThanOrEqual(t1 + THUMB_TTL_S)
  }
  // Byte for byte what the Worker answered before batches, for the same data.
  expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(truth.feature.id)))
  return { res, text, entity: cost.entity, images: cost.images, batchSizes: cost.batchSizes }
}

beforeEach(async () => {
  await standIn('/__sandbox/reset', {})
  await forgetTraits(env.CACHE, UPSTREAM)
})

afterAll(async () => {
  await standIn('/__sandbox/reset', {})
  await forgetTraits(env.CACHE, UPSTREAM)
})

describe('the images of a map feature, read in batches', () => {
  it(`reads a feature seen in 60 images with 2 requests: the feature, one batch (BATCH_IDS = ${BATCH})`, async () => {
    expect(BATCH).toBe(100)
    await standIn('/__sandbox/config', { crowd: { count: 60 } })
    const id = crowdOf(60).feature.id
    const first = await answersAsBefore(60)
    expect(first.entity).toBe(1)
    expect(first.batchSizes).toEqual([60])
    expect(first.res.headers.get('x-cache')).toBe('miss')
    expect(Number(first.res.headers.get('x-upstream-requests'))).toBe(2)
    const progress = await stub(id).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'whole', shards: 1, total: 2, done: 2 })
    expect(sum(progress, 'attempts')).toBe(2)

    // Asked again: from KV, no upstream request, the same bytes.
    const again = await ask(id)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(again.headers.get('x-upstream-requests')).toBe('0')
    expect(await again.text()).toBe(first.text)
  })

  it(`answers a feature seen in 2,600 images with 1 + ceil(2600 / ${BATCH}) = 27 requests, split across part objects, no slice over the budget (${BUDGET})`, async () => {
    const count = 2600
    await standIn('/__sandbox/config', { crowd: { count } })
    const id = crowdOf(count).feature.id
    const cost = await answersAsBefore(count)
    expect(Number(cost.res.headers.get('x-upstream-requests'))).toBe(27)
    expect(cost.entity).toBe(1)
    expect(cost.batchSizes).toEqual(Array(26).fill(100))
    const progress = await stub(id).progress()
    // 27 units: parts of at least MIN_ITEMS_PER_SHARD (12) units each.
    const shards = Math.min(Number(env.MAX_SHARDS), Math.floor(27 / Number(env.MIN_ITEMS_PER_SHARD)))
    expect(shards).toBe(2)
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards, total: 27, done: 27, pending: 0, failed: 0 })
    expectWithinBudget(progress)
    expect(sum(progress, 'attempts')).toBe(27)
    for (let k = 0; k < shards; k++) {
      const part = await env.FEATURE_IMAGES_JOB.getByName(partName(featureImagesName({ map_feature_id: id }), k, shards)).progress()
      expect(part).toMatchObject({ state: 'done', role: 'part' })
      expectWithinBudget(part)
    }
  })

  it('halves a batch the upstream refuses (HTTP 400, maxBatchIds 7 < BATCH_IDS): the same answer, and the next question asks batches of 7 at once', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 57 }, maxBatchIds: 7 })
    const cost = await answersAsBefore(57)
    // 57 refused, then halves until they fit (a chunk of one asked as `/{id}`). A slice whose budget
    // ends mid-read leaves its unit to the next, split at the size learned: every id in a batch
    // that fit or read alone, some twice at most.
    const fitted = cost.batchSizes.filter((n) => n <= 7)
    const read = fitted.reduce((a, n) => a + n, 0) + (cost.entity - 1)
    expect(read).toBeGreaterThanOrEqual(57)
    expect(read).toBeLessThanOrEqual(2 * 57)
    expect(cost.batchSizes[0]).toBe(57)
    expect((await readTraits(env.CACHE, UPSTREAM)).batchMax).toBeLessThanOrEqual(7)
    const learned = (await readTraits(env.CACHE, UPSTREAM)).batchMax!

    // Another feature: planned at the size learned, nothing refused, ceil(58 / learned) batches.
    await standIn('/__sandbox/config', { crowd: { count: 58 }, maxBatchIds: 7 })
    const next = await answersAsBefore(58)
    expect(next.batchSizes.every((n) => n <= 7)).toBe(true)
    expect(next.batchSizes.length).toBe(Math.ceil(58 / learned))
  })

  it('halves a batch refused with HTTP 500 (after the client’s retries), within the budget: the same answer', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 62 }, maxBatchIds: 25, batchRefusal: '500' })
    const cost = await answersAsBefore(62)
    expect(cost.batchSizes.filter((n) => n > 25).length).toBeGreaterThan(0)
    // A slice whose budget ends mid-unit runs the unit again in the next slice, at the size learned:
    // every id in a batch that fit, some twice at most.
    const fitted = cost.batchSizes.filter((n) => n <= 25).reduce((a, n) => a + n, 0)
    expect(fitted).toBeGreaterThanOrEqual(62)
    expect(fitted).toBeLessThanOrEqual(2 * 62)
    expect((await readTraits(env.CACHE, UPSTREAM)).batchMax).toBeLessThanOrEqual(25)
    const progress = await stub(crowdOf(62).feature.id).progress()
    // The batch of 62 split into batches of the size learned (its children).
    expect(progress).toMatchObject({ state: 'done', failed: 0, pending: 0 })
    expect(progress.done).toBe(progress.total)
    expect(progress.total).toBeGreaterThan(2)
    expectWithinBudget(progress)
  })

  it('reports real progress to the jobs Worker: nothing before the question, every unit (the feature, each batch) after', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 230 } })
    const id = crowdOf(230).feature.id
    const progressOf = async () => (await exports.default.fetch(`https://fi.test/internal/progress/v1/map-features/${id}/images`)).json()
    expect(await progressOf()).toEqual({ done: 0, total: 0 })
    expect((await ask(id)).status).toBe(200)
    expect(await progressOf()).toEqual({ done: 4, total: 4 })
  })

  it('gives a caller with its own token an object of its own, fetched with that token', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 25 } })
    const id = crowdOf(25).feature.id
    const token = 'MLY|777|00112233445566778899aabbccddeeff'
    const res = await ask(id, { headers: { authorization: `OAuth ${token}` } })
    expect(res.status).toBe(200)
    const own = await stub(id, featureImagesName({ map_feature_id: id }, await upstreamIdentity(token, env))).progress()
    expect(own).toMatchObject({ state: 'done', total: 2, done: 2 })
    expect((await stub(id).progress()).state).toBe('empty')
  })

  it('404s an unknown id and an image’s id as today, storing nothing', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 25 } })
    const image = crowdOf(25).images[0]!.id
    for (const id of ['123456789012345', image]) {
      const res = await ask(id)
      expect(res.status, id).toBe(404)
      expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
      expect((await stub(id).progress()).state).toBe('empty')
    }
  })
})

/**
 * What no stand-in feature does: an image listed twice, an image a batch leaves out, an image the
 * upstream does not know. The task runs against a Graph API played by an injected fetch.
 */
describe('a batch unit against an upstream that omits or does not know images', () => {
  const known = new Map(['11', '12', '13', '14'].map((id) => [id, { id, thumb_original_url: `https://thumbs.test/${id}.jpg?exp=1` }]))
  function upstream(omitted: Set<string>) {
    const urls: string[] = []
    const fetch = (async (input: RequestInfo | URL) => {
      const url = new URL(String(input))
      urls.push(url.pathname + url.search)
      if (url.pathname === '/images') {
        const ids = url.searchParams.get('image_ids')!.split(',')
        return Response.json({ data: ids.filter((id) => known.has(id) && !omitted.has(id)).map((id) => known.get(id)) })
      }
      const id = url.pathname.slice(1)
      const image = known.get(id)
      if (!image) return Response.json({ error: { code: 100, message: `Unsupported get request. Object with ID '${id}' does not exist` } }, { status: 400 })
      return Response.json(image)
    }) as typeof globalThis.fetch
    return { client: new GraphClient({ baseUrl: 'http://graph.test', token: 'MLY|1|x', fetch, sleep: async () => {} }), urls }
  }
  const task = featureImagesTask({ batch: 100, baseUrl: 'http://graph.test' })
  const unit = (ids: string[]): FeatureImagesUnit => ({ kind: 'images', at: 0, ids })
  const params = { map_feature_id: '1' }

  it('lists an image listed twice twice, in the listed order, read once', async () => {
    const up = upstream(new Set())
    const out = await task.runUnit(unit(['12', '11', '12', '13']), params, up.client)
    expect(out.result).toBe(['12', '11', '12', '13'].map((id) => JSON.stringify(known.get(id))).join(','))
    expect(up.urls).toEqual(['/images?image_ids=12,11,13&fields=id,thumb_original_url'])
  })

  it('asks alone an image the batch left out, and answers it in its place', async () => {
    const up = upstream(new Set(['13']))
    const out = await task.runUnit(unit(['11', '13', '14']), params, up.client)
    expect(out.result).toBe(['11', '13', '14'].map((id) => JSON.stringify(known.get(id))).join(','))
    expect(up.urls).toEqual(['/images?image_ids=11,13,14&fields=id,thumb_original_url', '/13?fields=id,thumb_original_url'])
  })

  it('ends the unit as the one-image read did for an image the upstream does not know: not_found (the answer’s 404)', async () => {
    const up = upstream(new Set())
    const e = await task.runUnit(unit(['11', '99', '12']), params, up.client).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(UpstreamError)
    expect(e).toMatchObject({ reason: 'not_found', status: 400, graphCode: 100 })
    expect(up.urls).toEqual(['/images?image_ids=11,99,12&fields=id,thumb_original_url', '/99?fields=id,thumb_original_url'])
  })

  it('splits a batch larger than the upstream was seen to take into batches it takes, answered in position order', async () => {
    await rememberTraits(undefined, 'http://graph.test', { batchMax: 2 })
    try {
      const up = upstream(new Set())
      const out = await task.runUnit({ kind: 'images', at: 100, ids: ['11', '12', '13', '14', '11'] }, params, up.client)
      expect(out.children).toEqual([
        { kind: 'images', at: 100, ids: ['11', '12'] },
        { kind: 'images', at: 102, ids: ['13', '14'] },
        { kind: 'images', at: 104, ids: ['11'] },
      ])
      expect(up.urls).toEqual([])
      // Keys tell a batch from its first child.
      expect(new Set([{ kind: 'images', at: 100, ids: ['11', '12', '13', '14', '11'] } as FeatureImagesUnit, ...out.children!].map(task.unitKey)).size).toBe(4)
      // Children finish after their parent's peers: the answer puts them back by position.
      const results = [
        { unit: { kind: 'feature', map_feature: { id: '1', object_value: null, geometry: null } } as FeatureImagesUnit, result: '{"id":"1","object_value":null,"geometry":null}' },
        { unit: { kind: 'images', at: 106, ids: ['12'] } as FeatureImagesUnit, result: 'D' },
        ...out.children!.map((unit, i) => ({ unit, result: 'ABC'[i]! })),
        { unit: { kind: 'images', at: 0, ids: ['13'] } as FeatureImagesUnit, result: 'Z' },
      ]
      expect(task.answer(params, results)).toEqual({ ok: true, body: '{"map_feature":{"id":"1","object_value":null,"geometry":null},"images":[Z,A,B,C,D]}' })
    } finally {
      await forgetTraits(undefined, 'http://graph.test')
    }
  })
})
