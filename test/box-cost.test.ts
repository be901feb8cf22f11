/**
 * What one box question costs upstream, counted at the stand-in (`/__sandbox/stats`): it follows
 * the features the box holds, never its length, and never goes past MAX_BOX_REQUESTS.
 */
import { describe, expect, it } from 'vitest'
import type { Bbox } from '../shared/tiling'
import { expectProblem } from './support/problem'
import { useSystem, type System } from './support/system'

/** The answer to a box and the upstream requests the stand-in saw while answering it. */
async function ask(sys: System, bbox: Bbox, extra = '') {
  const before = (await sys.sandboxControl.stats()).requests
  const res = await sys.json(`/v1/map-features?bbox=${bbox.join(',')}${extra}`)
  const made = (await sys.sandboxControl.stats()).requests - before
  return { res, made }
}

const ids = (fc: any): string[] => fc.features.map((f: any) => f.id).sort()

describe('at the default bound', () => {
  const t = useSystem()
  const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name))

  async function complete(bbox: Bbox) {
    const { res, made } = await ask(t.sys, bbox)
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
    expect(ids(res.body)).toEqual((await t.sys.sandboxControl.truthIds(bbox.join(','))).sort())
    expect(Number(res.headers.get('x-upstream-requests'))).toBe(made)
    return { res, made }
  }

  describe('regression: a box of small area but great length fanned out by its length', () => {
    it('360° × 0.0001° (0.036 deg², under the area limit) costs 1 request, not 512', async () => {
      const { made } = await complete([-180, 10, 180, 10.0001])
      expect(made).toBeGreaterThanOrEqual(1)
      expect(made).toBeLessThanOrEqual(2)
    })

    it('the meridian at the antimeridian, pole to pole, costs 2 requests, not 1,024, and finds its features', async () => {
      const bbox: Bbox = [180, -85.05, -180, 85.05]
      const { res, made } = await complete(bbox)
      expect(made).toBe(2) // one per side of the antimeridian
      const onMeridian = [...t.world.antimeridian.onLon180, ...t.world.antimeridian.onLonMinus180]
      expect(onMeridian.length).toBeGreaterThan(0)
      expect(ids(res.body)).toEqual([...onMeridian].sort())
    })

    it('a 30°-long box through the dense district costs what its features need', async () => {
      const tile = t.world.denseTile.bbox as Bbox // 6,000 features in a z18 tile
      const bbox: Bbox = [-94.53, tile[1] - 0.0001, -64.53, tile[3] + 0.0001] // 0.047 deg²
      const { res, made } = await complete(bbox)
      expect(res.body.features.length).toBeGreaterThan(6000)
      expect(made).toBeLessThanOrEqual(12) // at least 4; in cells of at most 1° it cost over 30
    })
  })

  it('a sparse box costs 1 request, a box across the antimeridian 2', async () => {
    expect((await complete(district('sparse').bbox)).made).toBe(1)
    expect((await complete(district('antimeridian').bbox)).made).toBe(2)
  })

  it('the dense district is still complete, in no more requests than before (17)', async () => {
    const { res, made } = await complete(district('dense').bbox)
    expect(res.body.features).toHaveLength(district('dense').featureCount)
    expect(made).toBeLessThanOrEqual(17)
  })
})

describe('under a low bound (MAX_BOX_REQUESTS=3) and a cell span limit (MAX_CELL_SPAN_DEG=1)', () => {
  const LIMIT = 3
  const t = useSystem({ vars: { MAX_BOX_REQUESTS: String(LIMIT), MAX_CELL_SPAN_DEG: '1' } })

  it('a box whose plan needs more start cells than the bound: 422 naming the limit, no upstream request', async () => {
    const { res, made } = await ask(t.sys, [-180, 10, 180, 10.0001]) // 360 cells of 1°
    expectProblem(res, 422, 'box_too_costly')
    expect(res.body.limit).toBe(LIMIT)
    expect(res.body.needed_at_least).toBe(360)
    expect(res.body.detail).toMatch(/limit of 3/)
    expect(made).toBe(0)
  })

  it('a dense box whose splits would pass the bound: the same 422, never a partial 200, never past the bound', async () => {
    const dense = t.world.districts.find((d: any) => d.name.includes('dense')).bbox as Bbox
    const { res, made } = await ask(t.sys, dense, '&fields=object_type')
    expectProblem(res, 422, 'box_too_costly')
    expect(res.body.limit).toBe(LIMIT)
    expect(res.body.needed_at_least).toBeGreaterThan(LIMIT)
    expect(res.body.features).toBeUndefined()
    expect(made).toBeGreaterThanOrEqual(1)
    expect(made).toBeLessThanOrEqual(LIMIT)
    // Asked again: the same answer, and nothing more upstream.
    const again = await ask(t.sys, dense, '&fields=object_type')
    expectProblem(again.res, 422, 'box_too_costly')
    expect(again.made).toBe(0)
  })

  it('a sparse box within the bound is answered whole', async () => {
    const sparse = t.world.districts.find((d: any) => d.name.includes('sparse'))
    const { res, made } = await ask(t.sys, sparse.bbox)
    expect(res.status).toBe(200)
    expect(res.body.features).toHaveLength(sparse.featureCount)
    expect(made).toBe(1)
  })
})
