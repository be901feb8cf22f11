/**
 * `detections.svg` while the upstream fails (the stand-in's rate500): it draws what the JSON route
 * would answer. With the JSON pieces in KV but not the sized thumbnail URL, the picture is the
 * original thumbnail (its URL is as fresh as the answer) rather than a 503; past the URLs' 5
 * minutes, the kept detections over a grey background, stale; never asked before, an upstream problem.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { later } from '../../../test/support/later'
import { standInCall } from '../../../test/support/stand-in-call'

const UPSTREAM = env.MAPILLARY_GRAPH_URL
let world: any

const standIn = standInCall(UPSTREAM)

const ask = (path: string) => exports.default.fetch(`https://dg.test${path}`)

const pathsOf = (svg: string) => [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1])
const hrefOf = (svg: string) => /<image href="([^"]+)"/.exec(svg)?.[1] ?? null

beforeAll(async () => {
  world = await standIn('/__sandbox/truth/world')
})

afterEach(async () => {
  vi.useRealTimers()
  await standIn('/__sandbox/reset', {})
})

describe('detections.svg while the upstream is down', () => {
  it('draws over the original thumbnail when only the sized URL is missing from KV', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const json = (await (await ask(`/v1/images/${id}/detections`)).json()) as any
    await standIn('/__sandbox/config', { rate500: 1 })
    const res = await ask(`/v1/images/${id}/detections.svg?size=256`)
    const svg = await res.text()
    expect(res.status, svg.slice(0, 300)).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8')
    expect(hrefOf(svg)).toBe(json.image.thumb_original_url)
    expect(pathsOf(svg).length).toBeGreaterThan(0)
  })

  it('past the URLs’ 5 minutes: the kept detections over grey, stale, no URL', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const fresh = await (await ask(`/v1/images/${id}/detections.svg?size=256`)).text()
    await standIn('/__sandbox/config', { rate500: 1 })
    await later(env.CACHE, 301)
    const res = await ask(`/v1/images/${id}/detections.svg?size=256`)
    const svg = await res.text()
    expect(res.status, svg.slice(0, 300)).toBe(200)
    expect(res.headers.get('x-cache')).toBe('stale')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(301)
    expect(hrefOf(svg)).toBeNull()
    expect(svg).toContain('fill="#d0d0d0"')
    expect(pathsOf(svg)).toEqual(pathsOf(fresh))
  })

  it('never asked before: an upstream problem (502 or 503), not a 500', async () => {
    const id = world.sampleImages.realDetections as string
    await standIn('/__sandbox/config', { rate500: 1 })
    const res = await ask(`/v1/images/${id}/detections.svg`)
    expect([502, 503]).toContain(res.status)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(((await res.json()) as any).code).toMatch(/^upstream_/)
  })
})
