import { beforeEach, describe, expect, it } from 'vitest'
import app from './index'
import { crowd, crowdFeatureId, crowdImageId, crowdOf, MAX_CROWD } from './crowd'
import { detectionsOfFeature, detectionsOfImage } from './detections'
import { getWorld } from './world'

const ORIGIN = 'http://sandbox.test'
const auth = { authorization: 'OAuth MLY|4242|abcdef' }
const json = async (path: string) => {
  const res = await app.request(`${ORIGIN}${path}`, { headers: auth })
  return { status: res.status, body: (await res.json()) as any }
}
const config = (body: unknown) => app.request(`${ORIGIN}/__sandbox/config`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

beforeEach(async () => {
  await app.request(`${ORIGIN}/__sandbox/reset`, { method: 'POST' })
})

describe('the crowd (one feature seen in many images)', () => {
  it('is one feature seen in `count` images, in order, oldest first, with ids of their own', () => {
    const world = getWorld()
    for (const count of [1, 60, 1000]) {
      const c = crowdOf(count)
      expect(c.feature.id).toBe(crowdFeatureId(count))
      expect(c.feature.images).toEqual(Array.from({ length: count }, (_, i) => crowdImageId(count, i)))
      const ids = [c.feature.id, ...c.feature.images]
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of ids) {
        expect(id).toMatch(/^[1-9]\d{14}$/)
        expect(world.featureById.has(id) || world.imageById.has(id), `${id} is not the world's`).toBe(false)
      }
      const times = c.images.map((im) => im.captured_at)
      expect([...times].sort((a, b) => a - b)).toEqual(times)
      expect([c.feature.first_seen_ms, c.feature.last_seen_ms]).toEqual([times[0], times.at(-1)])
    }
    // Crowds of other sizes share no id.
    expect(crowdOf(60).feature.images).not.toContain(crowdImageId(61, 0))
    expect(crowdFeatureId(60)).not.toBe(crowdFeatureId(61))
    expect(() => crowdOf(0)).toThrow(RangeError)
    expect(() => crowdOf(MAX_CROWD + 1)).toThrow(RangeError)
    expect(crowdOf(60)).toEqual(crowdOf(60))
    expect(crowd(60)).toBe(crowd(60))
  })

  it('has one detection per image, the feature’s, as the feature’s detections list them', () => {
    const c = crowdOf(30)
    const ofFeature = detectionsOfFeature(c, c.feature)
    expect(ofFeature.map((d) => d.image)).toEqual(c.feature.images)
    for (const [i, image] of c.images.entries()) {
      const ofImage = detectionsOfImage(c, image)
      expect(ofImage).toEqual([ofFeature[i]])
      expect(ofImage[0]).toMatchObject({ value: c.feature.object_value, map_feature: c.feature.id })
    }
  })

  it('is served by id once configured, and only then; never in a box', async () => {
    const c = crowdOf(25)
    expect((await json(`/${c.feature.id}?fields=images`)).status).toBe(400)
    expect((await config({ crowd: { count: 25 } })).status).toBe(200)
    const feature = await json(`/${c.feature.id}?fields=id,object_value,geometry,images`)
    expect(feature.status).toBe(200)
    expect(feature.body).toEqual({ id: c.feature.id, object_value: 'object--street-light', geometry: { type: 'Point', coordinates: [c.feature.lon, c.feature.lat] }, images: { data: c.feature.images.map((id) => ({ id })) } })
    const image = await json(`/${c.images[6]!.id}?fields=id,width,height,thumb_original_url`)
    expect(image.body).toMatchObject({ id: c.images[6]!.id, width: 4032, height: 3024 })
    const thumb = await app.request(image.body.thumb_original_url)
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/png') // a generated picture (src/thumbnail.ts)
    const detections = await json(`/${c.feature.id}/detections?fields=id,value,image`)
    expect(detections.body.data.map((d: any) => d.image.id)).toEqual(c.feature.images)
    expect((await json(`/${c.images[0]!.id}/detections?fields=id,value`)).body.data).toHaveLength(1)
    // Reachable by id only: not in the box around it.
    const box = await json(`/map_features?bbox=${c.feature.lon - 0.01},${c.feature.lat - 0.01},${c.feature.lon + 0.01},${c.feature.lat + 0.01}`)
    expect(box.body.data.map((f: any) => f.id)).not.toContain(c.feature.id)
    // Another count is another crowd: the first one's ids are gone.
    await config({ crowd: { count: 26 } })
    expect((await json(`/${c.feature.id}?fields=images`)).status).toBe(400)
    expect((await json(`/${crowdFeatureId(26)}?fields=images`)).body.images.data).toHaveLength(26)
  })

  it('refuses a bad crowd config', async () => {
    for (const crowd of [{ count: 0 }, { count: MAX_CROWD + 1 }, { count: 1.5 }, { count: 3, lon: 1 }, {}]) {
      expect((await config({ crowd })).status, JSON.stringify(crowd)).toBe(400)
    }
    expect((await config({ crowd: null })).status).toBe(200)
  })
})
