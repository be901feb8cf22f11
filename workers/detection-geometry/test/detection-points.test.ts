/**
 * The decode point cap on the detection routes (issue 9): a detection whose geometry draws more
 * than MAX_DECODE_POINTS points keeps its place with `pixel_geometry: null` and the reason
 * `too_many_points`; the others are decoded as ever. The routes are asked with the cap lowered
 * below the stand-in's detections (the Worker reads it from its env on every request).
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeTile } from '../../../test/stand-in/src/encode-tile'
import { withPixels } from '../../../shared/mvt/with-pixels'

let world: any
beforeAll(async () => {
  world = await (await fetch(`${env.MAPILLARY_GRAPH_URL}/__sandbox/truth/world`)).json()
})
const settings = env as unknown as Record<string, string | undefined>
afterEach(() => {
  delete settings.MAX_DECODE_POINTS
})

const square = (n: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i % 10, Math.floor(i / 10) * 10])
const tile = (points: number) => btoa(String.fromCharCode(...encodeTile([{ name: 'mpy-or', features: [{ type: 3, rings: [square(points)] }] }])))

describe('withPixels with the point cap', () => {
  it('decodes up to the cap (closing point counted) and keeps a detection past it, null with the reason', () => {
    const ok = withPixels({ id: '1', geometry: tile(99) }, 4032, 3024, { maxPoints: 100 })
    expect(ok.pixel_geometry?.type).toBe('Polygon')
    const over = withPixels({ id: '2', value: 'x', geometry: tile(100) }, 4032, 3024, { maxPoints: 100 })
    expect(over).toEqual({ id: '2', value: 'x', geometry: tile(100), pixel_geometry: null, pixel_geometry_error: { reason: 'too_many_points', detail: expect.stringContaining('100') } })
  })

  it('says missing_geometry as withPixels does', () => {
    expect(withPixels({ id: '3' } as { id: string; geometry?: string }, 10, 10, { maxPoints: 100 })).toMatchObject({ pixel_geometry: null, pixel_geometry_error: { reason: 'missing_geometry' } })
  })
})

describe('the detection routes under the cap', () => {
  it('an image’s detections: each over the cap null with too_many_points, none dropped', async () => {
    const id = world.sampleImages.realDetections as string
    const full = (await (await exports.default.fetch(`https://dg.test/v1/images/${id}/detections`)).json()) as any
    expect(full.detections.every((d: any) => d.pixel_geometry !== null)).toBe(true)
    settings.MAX_DECODE_POINTS = '3'
    const res = await exports.default.fetch(`https://dg.test/v1/images/${id}/detections`)
    expect(res.status).toBe(200)
    const capped = (await res.json()) as any
    expect(capped.detections.map((d: any) => d.id)).toEqual(full.detections.map((d: any) => d.id))
    for (const d of capped.detections) expect(d).toMatchObject({ pixel_geometry: null, pixel_geometry_error: { reason: 'too_many_points' } })
  })

  it('a map feature’s detections likewise', async () => {
    const id = world.sampleMapFeatures.seenInSeveralImages as string
    settings.MAX_DECODE_POINTS = '3'
    const res = await exports.default.fetch(`https://dg.test/v1/map-features/${id}/detections`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.detections.length).toBe(world.sampleMapFeatures.seenInSeveralImagesCount)
    for (const d of body.detections) expect(d).toMatchObject({ pixel_geometry: null, pixel_geometry_error: { reason: 'too_many_points' } })
  })
})
