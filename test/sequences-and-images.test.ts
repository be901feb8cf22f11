import { describe, expect, it } from 'vitest'
import { SERVER_TOKEN, useSystem } from './support/system'
import { expectProblem } from './support/problem'
import { expectCoordsClose } from './support/pixel-geometry-checks'
import { polygonsOf, referencePolygons } from './support/reference-decode'
import { imageDetectionsTruth, imageSize, sequenceImageIds } from './support/truth'

const t = useSystem()

const upstream = async (path: string) => (await fetch(new URL(path, t.sys.upstream), { headers: { authorization: `OAuth ${SERVER_TOKEN}` } })).json() as Promise<any>
const sequence = (label: string) => t.world.sequences.find((s: any) => s.label.includes(label) || s.length === Number(label))

describe('GET /v1/sequences/{id}/detections', () => {
  it('has a key for every image of the sequence, in upstream order, [] where an image has none', async () => {
    const seq = sequence('3')
    const res = await t.sys.json(`/v1/sequences/${seq.id}/detections`)
    expect(res.status).toBe(200)
    const ids = (await upstream(`/image_ids?sequence_id=${seq.id}`)).data.map((d: any) => d.id)
    expect(res.body.sequence_id).toBe(seq.id)
    expect(res.body.image_ids).toEqual(ids)
    expect(Object.keys(res.body.detections).sort()).toEqual([...ids].sort())
    expect(res.body.detections[t.world.sampleImages.noDetections]).toEqual([])
    for (const id of ids) {
      const direct = (await upstream(`/${id}/detections?fields=id,value,geometry`)).data
      expect(res.body.detections[id]).toEqual(direct)
    }
  })

  it('answers a 250-image sequence whole', async () => {
    const seq = sequence('250')
    const res = await t.sys.json(`/v1/sequences/${seq.id}/detections?fields=id,value`)
    expect(res.status).toBe(200)
    expect(res.body.image_ids).toHaveLength(250)
    expect(Object.keys(res.body.detections)).toHaveLength(250)
    for (const list of Object.values<any[]>(res.body.detections)) for (const d of list) expect(Object.keys(d).sort()).toEqual(['id', 'value'])
  })

  it('adds pixel_geometry with pixels=true: each image’s own size, equal to an independent decoder', async () => {
    const seq = sequence('3')
    const res = await t.sys.json(`/v1/sequences/${seq.id}/detections?pixels=true`)
    expect(res.status).toBe(200)
    expect(res.body.image_ids).toEqual(sequenceImageIds(seq.id))
    let checked = 0
    for (const id of res.body.image_ids as string[]) {
      // Sizes from the stand-in's world (never from the answer), geometry as the stand-in made it.
      const { width, height } = imageSize(id)
      const truth = imageDetectionsTruth(id, ['value', 'geometry'])
      const got = res.body.detections[id] as any[]
      expect(got.map((d) => ({ id: d.id, value: d.value, geometry: d.geometry })), `image ${id}`).toEqual(truth)
      for (const [i, d] of got.entries()) {
        expectCoordsClose(polygonsOf(d.pixel_geometry), referencePolygons(truth[i]!.geometry as string, width, height))
        checked++
      }
    }
    expect(checked).toBeGreaterThan(0)
    // Portrait or landscape matters: the sequence has a non-square image with detections.
    expect(res.body.image_ids.some((id: string) => imageSize(id).width !== imageSize(id).height && res.body.detections[id].length > 0)).toBe(true)
  })

  it('answers each fields list with exactly those fields, the true values, not an earlier list’s answer', async () => {
    const seq = sequence('3')
    for (const fields of [['value'], ['created_at', 'image'], ['value']]) {
      const res = await t.sys.json(`/v1/sequences/${seq.id}/detections?fields=${fields.join(',')}`)
      expect(res.status).toBe(200)
      expect(res.body.image_ids).toEqual(sequenceImageIds(seq.id))
      for (const id of res.body.image_ids as string[]) {
        expect(res.body.detections[id], `image ${id} with fields ${fields}`).toEqual(imageDetectionsTruth(id, fields))
      }
    }
  })

  it('404s an unknown sequence', async () => {
    expectProblem(await t.sys.json('/v1/sequences/zzzzzzzzzzzzzzzzzzzzzz/detections'), 404, 'not_found')
  })
})

describe('GET /v1/map-features/{id}/images', () => {
  it('lists the images of a feature in upstream order with fresh JPEG URLs', async () => {
    const id = t.world.sampleMapFeatures.seenInSeveralImages
    const res = await t.sys.json(`/v1/map-features/${id}/images`)
    expect(res.status).toBe(200)
    const direct = await upstream(`/${id}?fields=id,object_value,geometry,images`)
    expect(res.body.map_feature).toEqual({ id, object_value: direct.object_value, geometry: direct.geometry })
    expect(res.body.images.map((i: any) => i.id)).toEqual(direct.images.data.map((i: any) => i.id))
    const jpeg = await fetch(res.body.images[0].thumb_original_url)
    expect(jpeg.status).toBe(200)
    expect(jpeg.headers.get('content-type')).toBe('image/png')
  })

  it('answers [] for a feature seen in no image, 404 for an unknown one', async () => {
    const res = await t.sys.json(`/v1/map-features/${t.world.sampleMapFeatures.seenInNoImage}/images`)
    expect(res.status).toBe(200)
    expect(res.body.images).toEqual([])
    expectProblem(await t.sys.json('/v1/map-features/123456789012345/images'), 404, 'not_found')
  })
})
