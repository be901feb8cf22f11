/**
 * A map feature's detections when it is seen in more images than one invocation may make requests
 * for: each image's metadata through the FeatureDetectionsJob Durable Object (inside workerd,
 * against the stand-in's crowd: one feature seen in N generated images, test/stand-in/src/crowd.ts).
 * The crowd is the stand-in's global config, so every test of it lives in this one file and runs
 * one after another; the budgets are read from the objects' own slices.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterAll, describe, expect, it } from 'vitest'
import { partName, type JobProgress } from '../../../shared/engine/job-runner'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { crowdOf } from '../../../test/stand-in/src/crowd'
import { detectionsOfFeature } from '../../../test/stand-in/src/detections'
import { CAMERAS } from '../../../test/stand-in/src/world'
import { featureDetectionsName } from '../src/feature-detections-task'
import { standInCall } from '../../../test/support/stand-in-call'

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
  const metas = await Promise.all(
    imageIds.map(async (i) => {
      const m = await upstreamGet(`/${i}?fields=id,width,height,thumb_original_url`)
      return { id: m.id, width: m.width, height: m.height, thumb_original_url: m.thumb_original_url }
    }),
  )
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

describe('the detections of a map feature seen in more images than the budget', () => {
  it(`answers a feature seen in 60 images whole, no slice over the budget (${BUDGET}), split across 4 part objects`, async () => {
    await standIn('/__sandbox/config', { crowd: { count: 60 } })
    const truth = crowdOf(60)
    const id = truth.feature.id
    const res = await ask(id)
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBe(200)
    expect(res.headers.get('x-cache')).toBe('miss')
    // The detections and the kind check, then each image once.
    expect(Number(res.headers.get('x-upstream-requests'))).toBe(62)

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
    // Byte for byte what the Worker answered before the engine, for the same data.
    expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(id)))

    const name = featureDetectionsName(id, 'server')
    const progress = await stub(name).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards: 4, total: 61, done: 61, pending: 0, failed: 0 })
    expectWithinBudget(progress)
    expect(sum(progress, 'attempts')).toBe(62)
    for (let k = 0; k < 4; k++) {
      const part = await stub(partName(name, k, 4)).progress()
      expect(part).toMatchObject({ state: 'done', role: 'part' })
      expect(part.slices.filter((s) => s.kind === 'run').length).toBeGreaterThanOrEqual(2)
      expectWithinBudget(part)
    }
    console.info(`60 images, budget ${BUDGET}, 4 parts: ${sum(progress, 'attempts')} upstream requests in ${progress.slices.length} slices, max ${Math.max(...progress.slices.map((s) => s.attempts))} attempts/slice`)

    // Asked again: made again from KV's pieces (detections, kind, each image's metadata), no upstream request.
    const again = await ask(id)
    expect(again.status).toBe(200)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(again.headers.get('x-upstream-requests')).toBe('0')
    expect(await again.text()).toBe(text)
  })

  it('keeps a feature seen in 20 images in one object, in slices of at most the budget', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    const id = crowdOf(20).feature.id
    const res = await ask(id)
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBe(200)
    expect(withoutExpiry(text)).toBe(withoutExpiry(await formerAnswer(id)))
    const progress = await stub(featureDetectionsName(id, 'server')).progress()
    expect(progress).toMatchObject({ state: 'done', role: 'whole', shards: 1, total: 21, done: 21 })
    expectWithinBudget(progress)
    // The plan (2 requests), then 20 images in slices of at most 10: the first goes on in the calling invocation.
    expect(progress.slices.map((s) => s.kind)).toEqual(['plan', 'run', 'run', 'run'])
    expect(sum(progress, 'attempts')).toBe(22)
  })

  it('404s an unknown id and an image’s id as today, storing nothing', async () => {
    await standIn('/__sandbox/config', { crowd: { count: 20 } })
    for (const id of ['123456789012345', crowdOf(20).images[0]!.id]) {
      const res = await ask(id)
      expect(res.status, id).toBe(404)
      expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
      expect((await stub(featureDetectionsName(id, 'server')).progress()).state).toBe('empty')
    }
  })
})
