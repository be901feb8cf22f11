/**
 * A map feature's detections, its images' metadata read in batches (`/images?image_ids=`,
 * BATCH_IDS a request) through the FeatureDetectionsJob Durable Object (inside workerd, against the
 * stand-in's crowd: one feature seen in N generated images, test/stand-in/src/crowd.ts). The crowd,
 * the batch maximum and the counts are the stand-in's global config, so every test of them lives in
 * this one file and runs one after another. Request counts come from the stand-in's stats; the
 * expected answer from its per-image routes, as the Worker read them before batches.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { partName, type JobProgress } from '../../../shared/engine/job-runner'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { crowdOf } from '../../../test/stand-in/src/crowd'
import { detectionsOfFeature } from '../../../test/stand-in/src/detections'
import { CAMERAS } from '../../../test/stand-in/src/world'
import { forgetTraits, readTraits } from '../../../shared/upstream/traits'
import { featureDetectionsName, kindOf, type Detection } from '../src/feature-detections-task'
import { standInCall } from '../../../test/support/stand-in-call'
import { mapLimited } from '../../../test/support/map-limited'

const BUDGET = Number(env.SUBREQUEST_BUDGET)
const UPSTREAM = env.MAPILLARY_GRAPH_URL

const standIn = standInCall(UPSTREAM)

/** A Graph read with the server's token, straight to the stand-in. */
async function upstreamGet(path: string): Promise<any> {
  const res = await fetch(`${UPSTREAM}${path}`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })
  if (!res.ok) throw new Error(`stand-in GET ${path}: HTTP ${res.status}`)
  return res.json()
}

/** The body as the Worker made it before the job engine (every image's metadata at once), for the same data. */
async function formerAnswer(id: string): Promise<string> {
  const detections: Array<{ id: string; geometry?: string; image?: { id: string } }> = (await upstreamGet(`/${id}/detections?fields=id,value,geometry,image`)).data
  const imageIds = [...new Set(detections.flatMap((d) => (d.image?.id ? [d.image.id] : [])))]
  const metas = await mapLimited(imageIds, 16, async (i) => {
    const m = await upstreamGet(`/${i}?fields=id,width,height,thumb_original_url`)
    return { id: m.id, width: m.width, height: m.height, thumb_original_url: m.thumb_original_url }
  })
  const images = new Map(metas.map((m) => [m.id, m]))
  return JSON.stringify({
    map_feature: { id },
    detections: detections.map((d) => {
      const image = images.get(d.image!.id)!
      return { ...withPixels(d, image.width, image.height), image }
    }),
  })
}

const withoutExpiry = (text: string) => text.replace(/\?exp=\d+/g, '?exp=…')
const ask = (id: string) => exports.default.fetch(`https://dg.test/v1/map-features/${id}/detections`)
const stub = (name: string) => env.FEATURE_DETECTIONS_JOB.getByName(name)
const BATCH = Number(env.BATCH_IDS)

interface Stats {
  requests: number
  byRoute: Record<string, number>
  urls: string[]
}
const stats = (): Promise<Stats> => standIn('/__sandbox/stats')

/** What the stand-in was asked while `run` ran: requests by route, and each batch's size in order. */
async function asked<T>(run: () => Promise<T>): Promise<{ value: T; entity: number; detections: number; images: number; batchSizes: number[] }> {
  const before = await stats()
  const value = await run()
  const after = await stats()
  const made = after.requests - before.requests
  expect(made, 'the stand-in keeps the last 500 URLs').toBeLessThanOrEqual(500)
  return {
    value,
    entity: after.byRoute.entity! - before.byRoute.entity!,
    detections: after.byRoute.detections! - before.byRoute.detections!,
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
 * Asks the detections of the crowd feature of `count` (counting what the stand-in was asked for it
 * alone), then checks them against the stand-in's truth and the per-image oracle.
 */
async function answersAsBefore(count: number) {
  const truth = crowdOf(count)
  const id = truth.feature.id
  const cost = await asked(async () => {
    const res = await ask(id)
    return { res, text: await res.text() }
  })
  const { res, text } = cost.value
  expect(res.status, text.slice(0, 300)).toBe(200)
  // The stand-in's truth: one detection per image, in the feature's order, each in its image's pixels.
  const body = JSON.parse(text) as { map_feature: { id: string }; detections: Array<Record<string, any>> }
  expect(body.map_feature).toEqual({ id })
  const want = detectionsOfFeature(truth, truth.feature)
  expect(body.detections.map((d) => d.id)).toEqual(want.map((d) => d.id))
  for (const [i, d] of body.detections.entries()) {
    const image = truth.images[i]!
    const { width, height } = CAMERAS[image.camera]!
    expect({ value: d.value, geometry: d.geometry }).toEqual({ value: want[i]!.value, geometry: want[i]!.geometry })
    expect(d.image).toEqual({ id: image.id, width, height, thumb_original_url: expect.stringMatching(new RegExp(`^${UPSTREAM}/__sandbox/thumbs/${image.id}/original\\.jpg\\?exp=\\d+$`)) })
    expect(d.pixel_geometry).toEqual(withPixels(want[i]!, width, height).pixel_geometry)
  }
  // Byte for byte what the Worker answered before batches, for the same data.
  expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(id)))
  return { res, text, ...cost }
}

beforeEach(async () => {
  await standIn('/__sandbox/reset', {})
  await forgetTraits(env.CACHE, UPSTREAM)
})

afterAll(async () => {
  await standIn('/__sandbox/reset', {})
  await forgetTraits(env.CACHE, UPSTREAM)
})

describe('the stand-in tells a map feature from an image by its detections', () => {
  it('an image’s detections all name that image; a map feature’s never name the feature', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    const world = await standIn('/__sandbox/truth/world')
    const crowd = crowdOf(20)
    const images = [world.sampleImages.multipolygonWithHoles, world.sampleImages.realDetections, world.sampleImages.ordinary, crowd.images[0]!.id, crowd.images[19]!.id]
    const features = [world.sampleMapFeatures.seenInSeveralImages, crowd.feature.id]
    for (const id of images) {
      const list: Detection[] = (await upstreamGet(`/${id}/detections?fields=id,value,geometry,image`)).data
      expect(list.length, id).toBeGreaterThan(0)
      expect(list.every((d) => d.image?.id === id), id).toBe(true)
      expect(kindOf(id, list)).toBe('image')
    }
    for (const id of features) {
      const list: Detection[] = (await upstreamGet(`/${id}/detections?fields=id,value,geometry,image`)).data
      expect(list.length, id).toBeGreaterThan(0)
      expect(list.some((d) => d.image?.id === id), id).toBe(false)
      expect(kindOf(id, list)).toBe('map_feature')
    }
    // Empty lists say nothing: the kind is asked.
    expect((await upstreamGet(`/${world.sampleImages.noDetections}/detections?fields=id,value,geometry,image`)).data).toEqual([])
    expect((await upstreamGet(`/${world.sampleMapFeatures.seenInNoImage}/detections?fields=id,value,geometry,image`)).data).toEqual([])
  })
})

describe('the detections of a map feature, its images read in batches', () => {
  it(`reads a feature seen in 60 images with 2 requests: its detections, one batch of metadata (BATCH_IDS = ${BATCH}); asked again, none`, async () => {
    expect(BATCH).toBe(100)
    await standIn('/__sandbox/config', { crowd: { count: 60 } })
    const id = crowdOf(60).feature.id
    const first = await answersAsBefore(60)
    expect(first.res.headers.get('x-cache')).toBe('miss')
    expect(Number(first.res.headers.get('x-upstream-requests'))).toBe(2)
    // No kind check: the detections named other ids than the feature's.
    expect({ entity: first.entity, detections: first.detections, batches: first.batchSizes }).toEqual({ entity: 0, detections: 1, batches: [60] })
    const progress = await stub(featureDetectionsName(id, 'server')).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'whole', shards: 1, total: 2, done: 2 })
    expect(sum(progress, 'attempts')).toBe(2)

    // Asked again: made again from KV's pieces (detections, each image's metadata), no upstream request.
    const again = await asked(async () => {
      const res = await ask(id)
      return { res, text: await res.text() }
    })
    expect(again.value.res.status).toBe(200)
    expect(again.value.res.headers.get('x-cache')).toBe('hit')
    expect(again.value.res.headers.get('x-upstream-requests')).toBe('0')
    expect(again.entity + again.detections + again.images).toBe(0)
    expect(again.value.text).toBe(first.text)
  })

  it(`answers a feature seen in 2,400 images with 1 + ceil(2400 / ${BATCH}) = 25 requests, split across part objects, no slice over the budget (${BUDGET})`, async () => {
    const count = 2400
    await standIn('/__sandbox/config', { crowd: { count } })
    const id = crowdOf(count).feature.id
    const cost = await answersAsBefore(count)
    expect(Number(cost.res.headers.get('x-upstream-requests'))).toBe(25)
    expect({ entity: cost.entity, detections: cost.detections }).toEqual({ entity: 0, detections: 1 })
    expect(cost.batchSizes).toEqual(Array(24).fill(100))
    const name = featureDetectionsName(id, 'server')
    const progress = await stub(name).progress()
    // 25 units: parts of at least MIN_ITEMS_PER_SHARD (12) units each.
    const shards = Math.min(Number(env.MAX_SHARDS), Math.floor(25 / Number(env.MIN_ITEMS_PER_SHARD)))
    expect(shards).toBe(2)
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards, total: 25, done: 25, pending: 0, failed: 0 })
    expectWithinBudget(progress)
    expect(sum(progress, 'attempts')).toBe(25)
    for (let k = 0; k < shards; k++) {
      const part = await stub(partName(name, k, shards)).progress()
      expect(part).toMatchObject({ state: 'done', role: 'part' })
      expectWithinBudget(part)
    }
  })

  it('halves a batch the upstream refuses (HTTP 400, maxBatchIds 7 < BATCH_IDS): the same answer, and the next feature asks batches it takes at once', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 57 }, maxBatchIds: 7 })
    const cost = await answersAsBefore(57)
    expect(cost.batchSizes[0]).toBe(57)
    // Every image in a batch that fit (or read alone, a chunk of one); a slice whose budget ended
    // mid-read leaves its unit to the next, split at the size learned: some twice at most.
    const read = cost.batchSizes.filter((n) => n <= 7).reduce((a, n) => a + n, 0) + cost.entity
    expect(read).toBeGreaterThanOrEqual(57)
    expect(read).toBeLessThanOrEqual(2 * 57)
    const learned = (await readTraits(env.CACHE, UPSTREAM)).batchMax!
    expect(learned).toBeLessThanOrEqual(7)

    await standIn('/__sandbox/config', { crowd: { count: 58 }, maxBatchIds: 7 })
    const next = await answersAsBefore(58)
    expect(next.batchSizes.every((n) => n <= 7)).toBe(true)
    expect(next.batchSizes.length).toBe(Math.ceil(58 / learned))
  })

  it('halves a batch refused with HTTP 500 (after the client’s retries), within the budget: the same answer', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 62 }, maxBatchIds: 25, batchRefusal: '500' })
    const cost = await answersAsBefore(62)
    expect(cost.batchSizes.filter((n) => n > 25).length).toBeGreaterThan(0)
    const read = cost.batchSizes.filter((n) => n <= 25).reduce((a, n) => a + n, 0) + cost.entity
    expect(read).toBeGreaterThanOrEqual(62)
    expect(read).toBeLessThanOrEqual(2 * 62)
    const progress = await stub(featureDetectionsName(crowdOf(62).feature.id, 'server')).progress()
    expect(progress).toMatchObject({ state: 'done', failed: 0, pending: 0 })
    expect(progress.done).toBe(progress.total)
    expectWithinBudget(progress)
  })

  it('keeps a feature seen in 20 images in one object: the plan, then one slice', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    const id = crowdOf(20).feature.id
    const cost = await answersAsBefore(20)
    expect(Number(cost.res.headers.get('x-upstream-requests'))).toBe(2)
    const progress = await stub(featureDetectionsName(id, 'server')).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'whole', shards: 1, total: 2, done: 2 })
    expectWithinBudget(progress)
    expect(progress.slices.map((s) => s.kind)).toEqual(['plan', 'run'])
  })

  it('asks the kind of a feature with no detections (one request more), and answers it with none', async () => {
    const world = await standIn('/__sandbox/truth/world')
    const id = world.sampleMapFeatures.seenInNoImage as string
    const cost = await asked(async () => {
      const res = await ask(id)
      return { res, body: (await res.json()) as unknown }
    })
    expect(cost.value.res.status).toBe(200)
    expect(cost.value.body).toEqual({ map_feature: { id }, detections: [] })
    expect({ entity: cost.entity, detections: cost.detections, images: cost.images }).toEqual({ entity: 1, detections: 1, images: 0 })
  })

  it('404s an unknown id, an image’s id (its detections name it: no kind check) and an image with no detections (the kind check), storing nothing', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    const world = await standIn('/__sandbox/truth/world')
    const cases: Array<[string, { entity: number; detections: number }]> = [
      ['123456789012345', { entity: 0, detections: 1 }],
      [crowdOf(20).images[0]!.id, { entity: 0, detections: 1 }],
      [world.sampleImages.noDetections, { entity: 1, detections: 1 }],
    ]
    for (const [id, want] of cases) {
      const cost = await asked(async () => {
        const res = await ask(id)
        return { res, body: (await res.json()) as unknown }
      })
      expect(cost.value.res.status, id).toBe(404)
      expect(cost.value.body).toMatchObject({ status: 404, code: 'not_found' })
      expect({ entity: cost.entity, detections: cost.detections }, id).toEqual(want)
      expect((await stub(featureDetectionsName(id, 'server')).progress()).state).toBe('empty')
    }
  })
})
