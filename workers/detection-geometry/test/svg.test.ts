/**
 * `GET /v1/images/{id}/detections.svg` inside workerd, against the stand-in's sample world. The
 * expected polygons come from the world's own detections decoded by test/support's reference
 * decoder (@mapbox/vector-tile), never from the product's decoder. The document is read with
 * workerd's HTMLRewriter (lol-html); its XML well-formedness is shared/svg's tests' (Chromium).
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { polygonsOf, referencePolygons } from '../../../test/support/reference-decode'
import { imageDetectionsTruth, imageSize } from '../../../test/support/truth'
import { keyNames, newKeys, expectExpiresAfter, DOCUMENTED_TTL } from '../../../test/support/kv-keys'

let world: any
beforeAll(async () => {
  world = await (await fetch(`${env.MAPILLARY_GRAPH_URL}/__sandbox/truth/world`)).json()
})

const ask = (path: string) => exports.default.fetch(`https://dg.test${path}`)

interface SvgDoc {
  root: Record<string, string>
  image: Record<string, string> | null
  groups: Array<{ id: string; value: string; family: string; title: string; paths: Array<{ d: string; fill: string; rule: string }> }>
  legend: string[]
  scripts: number
}

/** The elements of the SVG, read by HTMLRewriter. */
async function read(res: Response): Promise<SvgDoc> {
  const doc: SvgDoc = { root: {}, image: null, groups: [], legend: [], scripts: 0 }
  const attrs = (el: Element) => Object.fromEntries([...(el.attributes as unknown as Iterable<[string, string]>)])
  let text: { target: 'title' | 'legend'; buf: string } | null = null
  await new HTMLRewriter()
    .on('svg', { element: (el) => void (doc.root = attrs(el)) })
    .on('image', { element: (el) => void (doc.image = attrs(el)) })
    .on('script', { element: () => void doc.scripts++ })
    .on('g.detection', { element: (el) => void doc.groups.push({ id: el.getAttribute('data-id')!, value: el.getAttribute('data-value')!, family: el.getAttribute('data-family')!, title: '', paths: [] }) })
    .on('g.detection > title', {
      element: () => void (text = { target: 'title', buf: '' }),
      text: (t) => {
        if (text) text.buf += t.text
        if (t.lastInTextNode && text) doc.groups.at(-1)!.title = text.buf
      },
    })
    .on('g.detection path', { element: (el) => void doc.groups.at(-1)!.paths.push({ d: el.getAttribute('d')!, fill: el.getAttribute('fill')!, rule: el.getAttribute('fill-rule')! }) })
    .on('g.legend-entry text', { text: (t) => void (t.text && doc.legend.push(t.text)) })
    .transform(res)
    .text()
  return doc
}

/** `d` back into rings (M…L…Z per ring). */
const ringsOf = (d: string) =>
  d.split('Z').filter((s) => s !== '').map((sub) => [...sub.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]))

function expectPathIs(d: string, polygon: number[][][]) {
  const rings = ringsOf(d)
  expect(rings.length).toBe(polygon.length)
  rings.forEach((ring, i) => {
    const want = polygon[i]!.slice(0, -1) // the closing point is the path's Z
    expect(ring.length).toBe(want.length)
    ring.forEach(([x, y], j) => {
      expect(Math.abs(x! - want[j]![0]!)).toBeLessThanOrEqual(0.005 + 1e-9)
      expect(Math.abs(y! - want[j]![1]!)).toBeLessThanOrEqual(0.005 + 1e-9)
    })
  })
}

describe('GET /v1/images/{id}/detections.svg', () => {
  it('draws every detection of the sample image with holes exactly where the reference decoder puts them, over the 256 thumbnail', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const { width, height } = imageSize(id)
    const res = await ask(`/v1/images/${id}/detections.svg?size=256&width=640`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(300)
    const doc = await read(res)
    expect(doc.scripts).toBe(0)
    expect(doc.root).toMatchObject({ viewbox: `0 0 ${width} ${height}`, width: '640', height: String(Math.round((640 * height) / width)) })
    expect(doc.image!.href).toMatch(new RegExp(`^${env.MAPILLARY_GRAPH_URL}/__sandbox/thumbs/${id}/256\\.jpg\\?exp=\\d+$`))

    const truth = imageDetectionsTruth(id, ['value', 'geometry']) as Array<{ id: string; value: string; geometry: string }>
    expect(doc.groups.map((g) => g.id)).toEqual(truth.map((d) => d.id))
    let holes = 0
    for (const [i, d] of truth.entries()) {
      const group = doc.groups[i]!
      expect(group.value).toBe(d.value)
      expect(group.title).toBe(d.value)
      const polygons = referencePolygons(d.geometry, width, height)
      expect(group.paths.length).toBe(polygons.length)
      group.paths.forEach((p, k) => {
        expect(p.rule).toBe('evenodd')
        expectPathIs(p.d, polygons[k]!)
        holes += polygons[k]!.length - 1
      })
    }
    expect(holes).toBeGreaterThan(0) // the sample is the one with holes
    // One colour per family; families apart.
    const byFamily = new Map<string, Set<string>>()
    for (const g of doc.groups) for (const p of g.paths) byFamily.set(g.family, (byFamily.get(g.family) ?? new Set()).add(p.fill))
    for (const fills of byFamily.values()) expect(fills.size).toBe(1)
    expect(new Set([...byFamily.values()].map((s) => [...s][0])).size).toBe(byFamily.size)
    const FAMILIES = ['regulatory', 'warning', 'information', 'complementary', 'object', 'marking', 'construction', 'nature', 'void', 'human', 'animal']
    expect(doc.groups.map((g) => g.family)).toEqual(truth.map((d) => (FAMILIES.includes(d.value.split('--')[0]!) ? d.value.split('--')[0] : 'other')))
    const counts = new Map<string, number>()
    for (const g of doc.groups) counts.set(g.family, (counts.get(g.family) ?? 0) + 1)
    expect(doc.legend.sort()).toEqual([...counts].map(([f, n]) => `${f} (${n})`).sort())

    // The thumbnail it links is a picture.
    const thumb = await fetch(doc.image!.href!)
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/png')
  })

  it('draws the real detections with the original thumbnail when size=original, and reuses the JSON route’s KV pieces', async () => {
    const id = world.sampleImages.realDetections as string
    const { width, height } = imageSize(id)
    const json = await ask(`/v1/images/${id}/detections`)
    expect(json.status).toBe(200)
    const res = await ask(`/v1/images/${id}/detections.svg?size=original`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('hit')
    expect(res.headers.get('x-upstream-requests')).toBe('0')
    const doc = await read(res)
    expect(doc.root).toMatchObject({ viewbox: `0 0 ${width} ${height}`, width: String(width), height: String(height) })
    expect(doc.image!.href).toContain(`/__sandbox/thumbs/${id}/original.jpg?exp=`)
    const truth = imageDetectionsTruth(id, ['value', 'geometry']) as Array<{ id: string; value: string; geometry: string }>
    expect(doc.groups.map((g) => g.id)).toEqual(world.sampleImages.realDetectionIds)
    for (const [i, d] of truth.entries()) polygonsOf({ type: 'MultiPolygon', coordinates: referencePolygons(d.geometry, width, height) }).forEach((poly, k) => expectPathIs(doc.groups[i]!.paths[k]!.d, poly))
  })

  it('keeps the sized thumbnail URL in KV no longer than such URLs live', async () => {
    const id = world.sampleImages.ordinary as string
    const before = await keyNames(env.CACHE, 'entity')
    const t0 = Date.now()
    const res = await ask(`/v1/images/${id}/detections.svg?size=2048`)
    expect(res.status).toBe(200)
    await res.text()
    const fresh = await newKeys(env.CACHE, 'entity', before, 3)
    const t1 = Date.now()
    const sized = []
    for (const key of fresh) {
      const value = (await env.CACHE.get(key.name, 'json')) as Record<string, unknown>
      if (typeof value.thumb_2048_url === 'string') sized.push({ key, value })
    }
    expect(sized).toHaveLength(1)
    expect(sized[0]!.value).toEqual({ id, thumb_2048_url: expect.stringContaining(`/__sandbox/thumbs/${id}/2048.jpg?exp=`) })
    expectExpiresAfter(sized[0]!.key, DOCUMENTED_TTL.withThumbUrls, t0, t1)
  })

  it('filters by exact values and keeps labels off when asked', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const truth = imageDetectionsTruth(id, ['value']) as Array<{ id: string; value: string }>
    const value = truth[0]!.value
    const doc = await read(await ask(`/v1/images/${id}/detections.svg?values=${value},animal--bird&labels=false&opacity=0.7&stroke=0`))
    expect(doc.groups.map((g) => g.id)).toEqual(truth.filter((d) => d.value === value).map((d) => d.id))
    expect(doc.groups.every((g) => g.title === '')).toBe(true)
    const none = await read(await ask(`/v1/images/${id}/detections.svg?values=animal--bird`))
    expect(none.groups).toEqual([])
    expect(none.legend).toEqual(['no detections'])
    const empty = await read(await ask(`/v1/images/${world.sampleImages.noDetections}/detections.svg`))
    expect(empty.groups).toEqual([])
    expect(empty.image!.href).toContain(`/__sandbox/thumbs/${world.sampleImages.noDetections}/1024.jpg?exp=`)
  })

  it('never puts the Mapillary token (the server’s or a client’s) in the SVG', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const client = 'MLY|777|clienttokenclienttoken'
    for (const headers of [{}, { authorization: `OAuth ${client}` }] as Array<Record<string, string>>) {
      const res = await exports.default.fetch(`https://dg.test/v1/images/${id}/detections.svg?size=256`, { headers })
      expect(res.status).toBe(200)
      const svg = await res.text()
      expect(svg).toContain('<path d="M')
      expect(svg).not.toContain('MLY|')
      expect(svg).not.toContain('MLY%7C')
      expect(svg).not.toContain(env.MAPILLARY_ACCESS_TOKEN)
    }
  })

  it('answers 404 problem+json for an unknown image', async () => {
    const res = await ask('/v1/images/123456789012345/detections.svg')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(((await res.json()) as any).status).toBe(404)
  })

  it.each([
    ['/v1/images/abc/detections.svg', 'imageId'],
    ['/v1/images/{id}/detections.svg?size=512', 'size'],
    ['/v1/images/{id}/detections.svg?size=256&size=1024', 'size'],
    ['/v1/images/{id}/detections.svg?width=0', 'width'],
    ['/v1/images/{id}/detections.svg?width=99999', 'width'],
    ['/v1/images/{id}/detections.svg?width=1e3', 'width'],
    ['/v1/images/{id}/detections.svg?opacity=1.5', 'opacity'],
    ['/v1/images/{id}/detections.svg?opacity=NaN', 'opacity'],
    ['/v1/images/{id}/detections.svg?stroke=-1', 'stroke'],
    ['/v1/images/{id}/detections.svg?labels=maybe', 'labels'],
    ['/v1/images/{id}/detections.svg?values=%22%3E%3Cscript%3E', 'values'],
  ])('answers 400 problem+json naming the parameter: %s', async (path, name) => {
    const res = await ask(path.replace('{id}', world.sampleImages.ordinary))
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    const body = (await res.json()) as any
    expect(body.code).toBe('invalid_parameter')
    expect(body.detail).toContain(`'${name}'`)
    // Markup in a bad parameter is echoed only inside JSON (problem+json), never into an SVG.
    expect(body.status).toBe(400)
  })
})
