// The stand-in's batch reads (`GET /images?image_ids=`), the image field `detections` in its three
// behaviours, and paged edges. Expected answers come from the per-image routes (`/{id}`,
// `/{id}/detections`), never from the code under test's own helpers.
import { beforeEach, describe, expect, it } from 'vitest'
import app from './index'
import { getWorld } from './world'
import { crowdFeatureId } from './crowd'

const ORIGIN = 'http://sandbox.test'
const auth = { authorization: 'OAuth MLY|4242|abcdef' }
const world = getWorld()
const s = world.summary
const get = (path: string, headers: Record<string, string> = auth) => app.request(`${ORIGIN}${path}`, { headers })
const json = async (path: string, headers?: Record<string, string>) => {
  const res = await get(path, headers)
  return { status: res.status, text: await res.clone().text(), body: (await res.json()) as any }
}
const post = (path: string, body?: unknown) =>
  app.request(`${ORIGIN}${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } })
const config = async (patch: Record<string, unknown>) => {
  const res = await post('/__sandbox/config', patch)
  expect(res.status).toBe(200)
  return (await res.json()) as any
}
const stats = async () => (await json('/__sandbox/stats', {})).body

/** Images with 2+ detections, the showcase (4, multipolygons), the real fixture image and one with none. */
const sample = (() => {
  const ids = [s.sampleImages.multipolygonWithHoles, s.sampleImages.realDetections, s.sampleImages.noDetections, s.sampleImages.ordinary]
  for (const image of world.imageById.values()) {
    if (ids.length >= 12) break
    if (image.slots >= 2 && !ids.includes(image.id)) ids.push(image.id)
  }
  return ids
})()
const SHOWCASE = s.sampleImages.multipolygonWithHoles
const PLAIN = 'width,height,captured_at,compass_angle,geometry,computed_geometry,sequence,is_pano,make'

beforeEach(async () => {
  await post('/__sandbox/reset')
})

describe('GET /images?image_ids=', () => {
  it('answers each image as GET /{id}?fields= does, in the order asked', async () => {
    const ids = [...sample].reverse()
    const batch = await json(`/images?image_ids=${ids.join(',')}&fields=${PLAIN}`)
    expect(batch.status).toBe(200)
    expect(batch.body.data.map((x: any) => x.id)).toEqual(ids)
    for (const [i, id] of ids.entries()) {
      const one = await json(`/${id}?fields=${PLAIN}`)
      expect(JSON.stringify(batch.body.data[i])).toBe(one.text)
    }
    // Only `id` without fields, like /{id}.
    expect((await json(`/images?image_ids=${ids[0]}`)).body).toEqual({ data: [{ id: ids[0] }] })
  })

  it('leaves out ids it does not know (and ids of map features), answers a duplicate once', async () => {
    const [a, b] = sample
    const unknown = '123456789012345'
    const feature = s.sampleMapFeatures.seenInSeveralImages
    const r = await json(`/images?image_ids=${unknown},${a},${feature},${b},${a}&fields=width`)
    expect(r.status).toBe(200)
    expect(r.body.data.map((x: any) => x.id)).toEqual([a, b])
    expect((await json(`/images?image_ids=${unknown}&fields=width`)).body).toEqual({ data: [] })
  })

  it('finds the configured crowd\'s images too', async () => {
    await config({ crowd: { count: 30 } })
    const feature = (await json(`/${crowdFeatureId(30)}?fields=images`)).body.images.data.map((x: any) => x.id) as string[]
    expect(feature).toHaveLength(30)
    const r = await json(`/images?image_ids=${feature.slice(0, 5).join(',')}&fields=width,height`)
    expect(r.body.data).toHaveLength(5)
    for (const x of r.body.data) expect(x).toEqual((await json(`/${x.id}?fields=width,height`)).body)
  })

  it('answers a malformed id list with the Graph invalid-parameter error', async () => {
    for (const q of ['', 'image_ids=', 'image_ids=,', `image_ids=${sample[0]},,${sample[1]}`, `image_ids=${sample[0]},`, 'image_ids=12a', `image_ids=${sample[0]},x`, 'image_ids=1;2']) {
      const r = await json(`/images?${q}&fields=id`)
      expect(r.status, q).toBe(400)
      expect(r.body.error, q).toMatchObject({ type: 'OAuthException', code: 100 })
      expect(r.body.error.message, q).toMatch(/^\(#100\) .*image_ids/)
    }
    const field = await json(`/images?image_ids=${sample[0]}&fields=width,nope`)
    expect(field.status).toBe(400)
    expect(field.body.error.message).toContain('Tried accessing nonexisting field (nope) on node type (Image)')
  })

  it('takes up to maxBatchIds ids (200 by default) and refuses more: 400 code 100, or 500 when configured', async () => {
    const all = [...world.imageById.keys()]
    const ok = await json(`/images?image_ids=${all.slice(0, 200).join(',')}&fields=width`)
    expect(ok.status).toBe(200)
    expect(ok.body.data).toHaveLength(200)
    const over = await json(`/images?image_ids=${all.slice(0, 201).join(',')}&fields=width`)
    expect(over.status).toBe(400)
    expect(over.body.error).toMatchObject({ type: 'OAuthException', code: 100 })
    expect(over.body.error.message).toContain('Too many ids')
    expect(await config({ maxBatchIds: 3 })).toMatchObject({ maxBatchIds: 3, batchRefusal: '400' })
    expect((await json(`/images?image_ids=${all.slice(0, 3).join(',')}`)).status).toBe(200)
    expect((await json(`/images?image_ids=${all.slice(0, 4).join(',')}`)).status).toBe(400)
    // Counted as written: four mentions of one id are four ids.
    expect((await json(`/images?image_ids=${[all[0], all[0], all[0], all[0]].join(',')}`)).status).toBe(400)
    await config({ batchRefusal: '500' })
    const five = await json(`/images?image_ids=${all.slice(0, 4).join(',')}`)
    expect(five.status).toBe(500)
    expect(five.body.error).toMatchObject({ code: 1 })
    expect(five.body.error.is_transient).not.toBe(true)
    expect((await json(`/images?image_ids=${all.slice(0, 3).join(',')}`)).status).toBe(200)
    // Reset restores the defaults.
    await post('/__sandbox/reset')
    const cfg = (await json('/__sandbox/config', {})).body
    expect(cfg).toMatchObject({ maxBatchIds: 200, batchRefusal: '400', detectionsExpansion: 'ids', edgePageLimit: 25 })
    expect((await json(`/images?image_ids=${all.slice(0, 4).join(',')}`)).status).toBe(200)
  })

  it('is counted as byRoute.images on the search budget, and takes faults like every Graph route', async () => {
    await json(`/images?image_ids=${sample[0]}`)
    await json(`/images?image_ids=x`)
    await json(`/${sample[0]}`)
    const st = await stats()
    expect(st.byRoute).toMatchObject({ images: 2, entity: 1 })
    expect(st.times.search).toHaveLength(2)
    expect(st.times.entity).toHaveLength(1)
    await config({ rate500: 1, routes: ['images'] })
    expect((await json(`/images?image_ids=${sample[0]}`)).status).toBe(500)
    expect((await json(`/${sample[0]}`)).status).toBe(200)
    await config({ rate500: 0, routes: null, script: ['429'] })
    expect((await json(`/images?image_ids=${sample[0]}`)).status).toBe(429)
    expect((await stats()).faults).toEqual({ '500': 1, '429': 1 })
    expect((await post('/__sandbox/config', { detectionsExpansion: 'maybe' })).status).toBe(400)
    expect((await post('/__sandbox/config', { maxBatchIds: 0 })).status).toBe(400)
    expect((await post('/__sandbox/config', { edgePageLimit: 0 })).status).toBe(400)
    expect((await post('/__sandbox/config', { batchRefusal: 400 })).status).toBe(400)
  })
})

/** The detections of an image as its own route gives them, with these fields. */
const perImage = async (id: string, fields: string) => (await json(`/${id}/detections?fields=${fields}`)).body.data as any[]

describe('the image field detections', () => {
  it('holds ids only by default, whatever subfields were asked, on /{id} and /images, never paged', async () => {
    await config({ edgePageLimit: 1 })
    for (const fields of ['detections', 'id,detections.value,detections.geometry', 'width,detections.image,detections.created_at']) {
      const batch = await json(`/images?image_ids=${sample.join(',')}&fields=${fields}`)
      expect(batch.status, fields).toBe(200)
      for (const [i, id] of sample.entries()) {
        const expected = { data: (await perImage(id, 'id')).map((d) => ({ id: d.id })) }
        expect(batch.body.data[i].detections, `${fields} ${id}`).toEqual(expected)
        expect((await json(`/${id}?fields=${fields}`)).body.detections).toEqual(expected)
      }
    }
    expect((await json(`/${SHOWCASE}?fields=detections`)).body.detections.data).toHaveLength(4)
    expect((await json(`/${s.sampleImages.noDetections}?fields=detections`)).body).toEqual({ id: s.sampleImages.noDetections, detections: { data: [] } })
  })

  it('expanded, gives byte for byte what GET /{id}/detections gives for the subfields', async () => {
    await config({ detectionsExpansion: 'expand' })
    const cases: Array<[string, string]> = [
      ['detections.value,detections.geometry', 'value,geometry'],
      ['id,detections.geometry,detections.value,detections.created_at,detections.image', 'geometry,value,created_at,image'],
      ['detections.id', 'id'],
      ['detections', 'id'],
      ['detections.image,detections.value,detections.image', 'image,value'],
    ]
    for (const [fields, sub] of cases) {
      const batch = await json(`/images?image_ids=${sample.join(',')}&fields=${fields}`)
      for (const [i, id] of sample.entries()) {
        const own = await json(`/${id}/detections?fields=${sub}`)
        expect(own.body.data.length).toBeLessThanOrEqual(25)
        expect(JSON.stringify(batch.body.data[i].detections), `${fields} ${id}`).toBe(own.text)
        const one = await json(`/${id}?fields=${fields}`)
        expect(JSON.stringify(one.body.detections)).toBe(own.text)
      }
    }
    // The real fixture's detections keep their recorded ids and geometry.
    const real = (await json(`/${s.sampleImages.realDetections}?fields=detections.geometry`)).body.detections.data
    expect(real.map((d: any) => d.id)).toEqual(s.sampleImages.realDetectionIds)
  })

  it('keeps the asked order of the top-level fields, detections where first asked', async () => {
    await config({ detectionsExpansion: 'expand' })
    const a = (await json(`/${SHOWCASE}?fields=detections.value,width,detections.geometry,height`)).body
    expect(Object.keys(a)).toEqual(['id', 'detections', 'width', 'height'])
    expect(Object.keys(a.detections.data[0])).toEqual(['id', 'value', 'geometry'])
    const b = (await json(`/${SHOWCASE}?fields=width,detections`)).body
    expect(Object.keys(b)).toEqual(['id', 'width', 'detections'])
    expect(b.width).toBe((await json(`/${SHOWCASE}?fields=width`)).body.width)
  })

  it('refused: 400 code 100 naming the dotted field, on /{id} and /images; bare detections still ids', async () => {
    await config({ detectionsExpansion: 'refuse' })
    for (const path of [`/${SHOWCASE}?fields=id,detections.value,detections.geometry`, `/images?image_ids=${sample.join(',')}&fields=id,detections.value,detections.geometry`]) {
      const r = await json(path)
      expect(r.status, path).toBe(400)
      expect(r.body.error).toMatchObject({ type: 'OAuthException', code: 100 })
      expect(r.body.error.message).toBe('(#100) Tried accessing nonexisting field (detections.value) on node type (Image)')
    }
    const bare = await json(`/${SHOWCASE}?fields=detections`)
    expect(bare.status).toBe(200)
    expect(bare.body.detections).toEqual({ data: (await perImage(SHOWCASE, 'id')).map((d) => ({ id: d.id })) })
  })

  it('answers unknown subfields and other dotted fields as nonexisting fields in every behaviour', async () => {
    for (const mode of ['ids', 'expand', 'refuse']) {
      await config({ detectionsExpansion: mode })
      const sub = await json(`/${SHOWCASE}?fields=detections.nope`)
      expect(sub.status, mode).toBe(400)
      expect(sub.body.error.message).toContain('Tried accessing nonexisting field (nope) on node type (ImageDetection)')
      const other = await json(`/images?image_ids=${SHOWCASE}&fields=sequence.id`)
      expect(other.status, mode).toBe(400)
      expect(other.body.error.message).toContain('Tried accessing nonexisting field (sequence.id) on node type (Image)')
    }
  })
})

describe('paged edges', () => {
  it('cuts an expanded edge past edgePageLimit, with cursors and a next URL that continues it', async () => {
    await config({ detectionsExpansion: 'expand', edgePageLimit: 3 })
    const whole = await perImage(SHOWCASE, 'value,geometry')
    expect(whole).toHaveLength(4)
    const first = (await json(`/images?image_ids=${SHOWCASE},${s.sampleImages.ordinary}&fields=detections.value,detections.geometry`)).body.data[0]
    expect(first.detections.data).toEqual(whole.slice(0, 3))
    const paging = first.detections.paging
    expect(Object.keys(paging.cursors)).toEqual(['before', 'after'])
    expect(paging.cursors.before).not.toBe(paging.cursors.after)
    const next = new URL(paging.next)
    expect(next.origin).toBe(ORIGIN)
    expect(next.pathname).toBe(`/${SHOWCASE}/detections`)
    expect(next.searchParams.get('after')).toBe(paging.cursors.after)
    expect(next.searchParams.get('fields')).toBe('id,value,geometry')
    expect(paging.next).not.toContain('MLY')
    const rest = await json(next.pathname + next.search)
    expect(rest.status).toBe(200)
    expect(rest.body.data).toEqual(whole.slice(3))
    expect(rest.body.paging.next).toBeUndefined()
    expect(rest.body.paging.cursors.before).toBe(rest.body.paging.cursors.after)
    // Exactly at the limit: whole, no paging.
    await config({ edgePageLimit: 4 })
    expect((await json(`/${SHOWCASE}?fields=detections.value,detections.geometry`)).body.detections).toEqual({ data: whole })
  })

  it('follows next pages to the end, equal to the whole edge, at the default limit', async () => {
    await config({ crowd: { count: 60 } })
    const feature = crowdFeatureId(60)
    const whole = await perImage(feature, 'id,value,image')
    expect(whole).toHaveLength(60)
    let path: string | undefined = `/${feature}/detections?fields=id,value,image&limit=25`
    const pages: any[][] = []
    while (path) {
      const r = await json(path)
      expect(r.status).toBe(200)
      pages.push(r.body.data)
      path = r.body.paging?.next ? new URL(r.body.paging.next).pathname + new URL(r.body.paging.next).search : undefined
    }
    expect(pages.map((p) => p.length)).toEqual([25, 25, 10])
    expect(pages.flat()).toEqual(whole)
    // `after` alone pages at edgePageLimit (25 by default).
    const cursor = (await json(`/${feature}/detections?fields=id&limit=25`)).body.paging.cursors.after
    expect((await json(`/${feature}/detections?fields=id&after=${encodeURIComponent(cursor)}`)).body.data).toEqual(whole.slice(25, 50).map((d) => ({ id: d.id })))
  })

  it('keeps the plain /{id}/detections whole however small edgePageLimit is, and refuses bad cursors and limits', async () => {
    await config({ detectionsExpansion: 'expand', edgePageLimit: 1 })
    const plain = await json(`/${SHOWCASE}/detections?fields=value`)
    expect(plain.body.data).toHaveLength(4)
    expect(plain.body.paging).toBeUndefined()
    for (const q of ['after=nope', `after=${btoa('123456789012345')}`, 'limit=0', 'limit=x']) {
      const r = await json(`/${SHOWCASE}/detections?fields=value&${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.error.code).toBe(100)
    }
    // A cursor from an expanded edge (one item a page) continues on the edge route.
    const cursor = (await json(`/${SHOWCASE}?fields=detections`)).body.detections.paging.cursors.after
    const rest = await json(`/${SHOWCASE}/detections?fields=id&limit=3&after=${encodeURIComponent(cursor)}`)
    expect(rest.body.data).toEqual((await perImage(SHOWCASE, 'id')).slice(1, 4))
    expect(rest.body.paging.next).toBeUndefined()
  })
})
