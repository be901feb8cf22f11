/**
 * A map feature seen in far more images than one invocation's subrequest budget (45, production's
 * default), end to end through the gateway: its images and its detections answer whole, exactly
 * the stand-in's truth, and no invocation of the job objects behind them went past the budget or
 * held more than 6 connections. The feature is the stand-in's crowd (test/stand-in/src/crowd.ts).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { crowdOf } from './stand-in/src/crowd'
import { detectionsOfFeature } from './stand-in/src/detections'
import { CAMERAS } from './stand-in/src/world'
import { ended, readEvents, submitted } from './support/jobs'
import { useSystem } from './support/system'

const BUDGET = 45
const t = useSystem({ vars: { SUBREQUEST_BUDGET: String(BUDGET) } })
afterEach(() => t.sys.sandboxControl.reset())

interface Slice {
  kind: string
  attempts: number
  in_flight_peak: number
  units: number
}

/** The slices of a job object and of its parts (`<name>#k/K`), read from their storage. */
async function slicesOf(worker: string, binding: string, name: string): Promise<Slice[]> {
  const read = async (n: string) => (await (await t.sys.gateway.getWorker(worker).getDurableObjectStorage(binding, { name: n })).exec('SELECT * FROM slices ORDER BY n')) as unknown as Slice[]
  const own = await read(name)
  const [job] = (await (await t.sys.gateway.getWorker(worker).getDurableObjectStorage(binding, { name })).exec('SELECT shards FROM job')) as unknown as Array<{ shards: number }>
  const shards = job?.shards ?? 1
  const parts = shards > 1 ? await Promise.all(Array.from({ length: shards }, (_, k) => read(`${name}#${k + 1}/${shards}`))) : []
  return [...own, ...parts.flat()]
}

function expectWithinBudget(slices: Slice[], attempts: number) {
  for (const s of slices) {
    expect(s.attempts).toBeLessThanOrEqual(BUDGET)
    expect(s.in_flight_peak).toBeLessThanOrEqual(6)
  }
  expect(slices.reduce((a, s) => a + s.attempts, 0)).toBe(attempts)
}

const thumbOf = (id: string) => new RegExp(`^${t.sys.upstream.origin}/__sandbox/thumbs/${id}/original\\.jpg\\?exp=\\d+$`)

describe('a map feature seen in 200 images', () => {
  const count = 200
  const truth = crowdOf(count)

  it('GET …/images answers every image in upstream order with its URL, within the budget per invocation', async () => {
    await t.sys.sandboxControl.config({ crowd: { count }, latencyMs: 5 })
    const before = await t.sys.sandboxControl.stats()
    const res = await t.sys.json(`/v1/map-features/${truth.feature.id}/images`)
    const after = await t.sys.sandboxControl.stats()
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
    expect(res.body.map_feature).toEqual({ id: truth.feature.id, object_value: truth.feature.object_value, geometry: { type: 'Point', coordinates: [truth.feature.lon, truth.feature.lat] } })
    expect(res.body.images.map((i: any) => i.id)).toEqual(truth.feature.images)
    for (const image of res.body.images) expect(image.thumb_original_url).toMatch(thumbOf(image.id))
    // The feature, then its images in batches of BATCH_IDS (100).
    const requests = 1 + Math.ceil(count / 100)
    expect(after.requests - before.requests).toBe(requests)
    expect(Number(res.headers.get('x-upstream-requests'))).toBe(requests)
    // Parts side by side hold more than 6 connections between them, never more than 6 each.
    expect((after as unknown as { maxInFlight: number }).maxInFlight).toBeLessThanOrEqual(6 * 4)
    const slices = await slicesOf('mly-feature-images', 'FEATURE_IMAGES_JOB', `mf-images-job:${truth.feature.id}`)
    expectWithinBudget(slices, requests)
    console.info(`images of a feature seen in ${count}: ${after.requests - before.requests} upstream requests, ${slices.length} slices, max ${Math.max(...slices.map((s) => s.attempts))} attempts/slice, ${(after as unknown as { maxInFlight: number }).maxInFlight} in flight at the stand-in`)
  })

  it('GET …/detections answers every detection in its image’s pixels, within the budget per invocation', async () => {
    await t.sys.sandboxControl.config({ crowd: { count }, latencyMs: 5 })
    const before = await t.sys.sandboxControl.stats()
    const res = await t.sys.json(`/v1/map-features/${truth.feature.id}/detections`)
    const after = await t.sys.sandboxControl.stats()
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
    const want = detectionsOfFeature(truth, truth.feature)
    expect(res.body.detections.map((d: any) => [d.id, d.value, d.geometry])).toEqual(want.map((d) => [d.id, d.value, d.geometry]))
    for (const [i, d] of (res.body.detections as any[]).entries()) {
      const image = truth.images[i]!
      const { width, height } = CAMERAS[image.camera]!
      expect(d.image).toMatchObject({ id: image.id, width, height })
      expect(d.image.thumb_original_url).toMatch(thumbOf(image.id))
      expect(d.pixel_geometry).not.toBeNull()
    }
    // The detections (they name other ids than the feature's: no kind check), then the images' metadata in batches of BATCH_IDS (100).
    const requests = 1 + Math.ceil(count / 100)
    expect(after.requests - before.requests).toBe(requests)
    const slices = await slicesOf('mly-detection-geometry', 'FEATURE_DETECTIONS_JOB', `mf-detections-job:${truth.feature.id}`)
    expectWithinBudget(slices, requests)
    console.info(`detections of a feature seen in ${count}: ${after.requests - before.requests} upstream requests, ${slices.length} slices, max ${Math.max(...slices.map((s) => s.attempts))} attempts/slice`)
  })
})

describe('a map feature seen in 1,500 images, as a job', () => {
  it('reports real progress (the feature and each batch of images) and answers what the synchronous route answers', async () => {
    const truth = crowdOf(1500)
    // Slow enough that the job asks for progress (every second) while the 15 batches are read (3 rounds of 6).
    await t.sys.sandboxControl.config({ crowd: { count: 1500 }, latencyMs: 1000 })
    const id = await submitted(t.sys, 'feature-images', { map_feature_id: truth.feature.id })
    const events = await readEvents(t.sys, `/v1/jobs/${id}/events`)
    const status = await ended(t.sys, id)
    expect(status.state, JSON.stringify(status.problem)).toBe('done')
    expect(status.progress).toEqual({ done: 16, total: 16 })
    const progress = events.events.filter((e) => e.event === 'progress').map((e) => e.data)
    // The task Worker's own counts, not the 0 of 1 a task without an object reports.
    expect(progress.some((p) => p.total === 16)).toBe(true)
    const result = await t.sys.fetch(status.result_url)
    // The job's answer is in KV (or, until KV shows it, in the object): the same bytes.
    const sync = await t.sys.fetch(`/v1/map-features/${truth.feature.id}/images`)
    expect(await result.text()).toBe(await sync.text())
  })
})
