/**
 * A map feature seen in more images than one invocation may make requests for, through the
 * FeatureImagesJob Durable Object (inside workerd, against the stand-in's crowd: one feature seen in
 * N generated images, test/stand-in/src/crowd.ts). The crowd and its counts are the stand-in's
 * global config, so every test of it lives in this one file and runs one after another; the
 * budgets are read from the objects' own slices, never from the stand-in's counts.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterAll, describe, expect, it } from 'vitest'
import { partName, type JobProgress } from '../../../shared/engine/job-runner'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import { crowdOf } from '../../../test/stand-in/src/crowd'
import { featureImagesName } from '../src/feature-images-task'
import { standInCall } from '../../../test/support/stand-in-call'

const BUDGET = Number(env.SUBREQUEST_BUDGET)
const UPSTREAM = env.MAPILLARY_GRAPH_URL
const THUMB_TTL_S = 3600

const standIn = standInCall(UPSTREAM)

/** A Graph read with the server's token, straight to the stand-in. */
async function upstreamGet(path: string): Promise<any> {
  const res = await fetch(`${UPSTREAM}${path}`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })
  if (!res.ok) throw new Error(`stand-in GET ${path}: HTTP ${res.status}`)
  return res.json()
}

/** The body as the Worker made it before the job engine: the feature, then every image, one `JSON.stringify`. */
async function formerAnswer(id: string): Promise<string> {
  const feature = await upstreamGet(`/${id}?fields=id,object_value,geometry,images`)
  const imageIds: string[] = feature.images?.data.map((i: { id: string }) => i.id) ?? []
  const images = await Promise.all(
    imageIds.map(async (i) => {
      const img = await upstreamGet(`/${i}?fields=id,thumb_original_url`)
      return { id: img.id, thumb_original_url: img.thumb_original_url }
    }),
  )
  return JSON.stringify({ map_feature: { id: feature.id, object_value: feature.object_value ?? null, geometry: feature.geometry ?? null }, images })
}

/** Thumbnail URLs carry the second they were made: the same text but for it. */
const withoutExpiry = (text: string) => text.replace(/\?exp=\d+/g, '?exp=…')

const ask = (id: string, init?: RequestInit) => exports.default.fetch(`https://fi.test/v1/map-features/${id}/images`, init)
const stub = (id: string, name = featureImagesName({ map_feature_id: id })) => env.FEATURE_IMAGES_JOB.getByName(name)

function expectWithinBudget(p: JobProgress) {
  for (const s of p.slices) {
    expect(s.attempts, `slice ${s.n} (${s.kind}) attempts`).toBeLessThanOrEqual(BUDGET)
    expect(s.inFlightPeak, `slice ${s.n} in flight`).toBeLessThanOrEqual(6)
  }
}

const sum = (p: JobProgress, k: 'attempts' | 'units') => p.slices.reduce((a, s) => a + s[k], 0)

afterAll(async () => {
  await standIn('/__sandbox/reset', {})
})

describe('the images of a map feature seen in more images than the budget', () => {
  it(`answers a feature seen in 60 images whole, no slice over the budget (${BUDGET}), split across 4 part objects`, async () => {
    await standIn('/__sandbox/config', { crowd: { count: 60 } })
    const truth = crowdOf(60)
    const id = truth.feature.id
    const t0 = Math.floor(Date.now() / 1000)
    const res = await ask(id)
    const t1 = Math.ceil(Date.now() / 1000)
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBe(200)
    expect(res.headers.get('x-cache')).toBe('miss')
    // The feature, then each image once.
    expect(Number(res.headers.get('x-upstream-requests'))).toBe(61)

    // The stand-in's truth: every image in upstream order, each URL as the stand-in serves it.
    const body = JSON.parse(text) as { map_feature: { id: string }; images: Array<{ id: string; thumb_original_url: string }> }
    expect(body.map_feature).toEqual({ id, object_value: truth.feature.object_value, geometry: { type: 'Point', coordinates: [truth.feature.lon, truth.feature.lat] } })
    expect(body.images.map((i) => i.id)).toEqual(truth.feature.images)
    for (const image of body.images) {
      const url = new URL(image.thumb_original_url)
      expect(`${url.origin}${url.pathname}`).toBe(`${UPSTREAM}/__sandbox/thumbs/${image.id}/original.jpg`)
      const exp = Number(url.searchParams.get('exp'))
      expect(exp).toBeGreaterThanOrEqual(t0 + THUMB_TTL_S)
      expect(exp).toBeLessThanOrEqual(t1 + THUMB_TTL_S)
    }
    // Byte for byte what the Worker answered before the engine, for the same data.
    expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(id)))

    const progress = await stub(id).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards: 4, total: 61, done: 61, pending: 0, failed: 0 })
    expectWithinBudget(progress)
    expect(sum(progress, 'attempts')).toBe(61)
    expect(sum(progress, 'units')).toBe(61)
    // Each part's 15 or 16 units take two slices at this budget; every part kept to it.
    for (let k = 0; k < 4; k++) {
      const part = await env.FEATURE_IMAGES_JOB.getByName(partName(featureImagesName({ map_feature_id: id }), k, 4)).progress()
      expect(part).toMatchObject({ state: 'done', role: 'part' })
      expect(part.slices.filter((s) => s.kind === 'run').length).toBeGreaterThanOrEqual(2)
      expectWithinBudget(part)
    }
    console.info(`60 images, budget ${BUDGET}, 4 parts: ${sum(progress, 'attempts')} upstream requests in ${progress.slices.length} slices, max ${Math.max(...progress.slices.map((s) => s.attempts))} attempts/slice`)

    // Asked again: from KV, no upstream request, the same bytes.
    const again = await ask(id)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(again.headers.get('x-upstream-requests')).toBe('0')
    expect(await again.text()).toBe(text)
  })

  it('keeps a feature seen in 20 images in one object, in slices of at most the budget', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    const truth = crowdOf(20)
    const res = await ask(truth.feature.id)
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBe(200)
    expect((JSON.parse(text) as { images: Array<{ id: string }> }).images.map((i) => i.id)).toEqual(truth.feature.images)
    expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(truth.feature.id)))
    const progress = await stub(truth.feature.id).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'whole', shards: 1, total: 21, done: 21 })
    expectWithinBudget(progress)
    // The plan (1 request), then 20 images in slices of at most 10: the first goes on in the calling invocation.
    expect(progress.slices.map((s) => s.kind)).toEqual(['plan', 'run', 'run', 'run'])
    expect(sum(progress, 'attempts')).toBe(21)
  })

  it('reports real progress to the jobs Worker: nothing before the question, every unit after', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 30 } })
    const id = crowdOf(30).feature.id
    const progressOf = async () => (await exports.default.fetch(`https://fi.test/internal/progress/v1/map-features/${id}/images`)).json()
    expect(await progressOf()).toEqual({ done: 0, total: 0 })
    expect((await ask(id)).status).toBe(200)
    expect(await progressOf()).toEqual({ done: 31, total: 31 })
  })

  it('gives a caller with its own token an object of its own, fetched with that token', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 25 } })
    const id = crowdOf(25).feature.id
    const token = 'MLY|777|00112233445566778899aabbccddeeff'
    const res = await ask(id, { headers: { authorization: `OAuth ${token}` } })
    expect(res.status).toBe(200)
    const own = await stub(id, featureImagesName({ map_feature_id: id }, await upstreamIdentity(token, env))).progress()
    expect(own).toMatchObject({ state: 'done', total: 26, done: 26 })
    expect((await stub(id).progress()).state).toBe('empty')
  })

  it('404s an unknown id and an image’s id as today, storing nothing', async () => {
    const image = crowdOf(25).images[0]!.id
    for (const id of ['123456789012345', image]) {
      const res = await ask(id)
      expect(res.status, id).toBe(404)
      expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
      expect((await stub(id).progress()).state).toBe('empty')
    }
  })
})
