/**
 * Found by a hostile client (issue 9): an image's width and height were cached with the 5-minute
 * TTL of its thumbnail URL, so after 5 minutes its detections (cached a day) needed the upstream
 * again, and were 503 while it was down. Now the size is kept for a month under its own key and the
 * detections a week past their day: with the upstream failing (the stand-in's rate500) and the clock
 * moved past the URL's 5 minutes (vi's fake Date, in this isolate with the Worker), the answer is
 * the kept one, `X-Cache: stale` with its `Age`, and no URL (it would be expired).
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

beforeAll(async () => {
  world = await standIn('/__sandbox/truth/world')
})

afterEach(async () => {
  vi.useRealTimers()
  await standIn('/__sandbox/reset', {})
})

describe('an image’s detections while the upstream is down', () => {
  it('past the URL’s 5 minutes: the kept detections in the kept size, stale, no URL; past their day too', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    const first = await ask(`/v1/images/${id}/detections`)
    expect(first.status).toBe(200)
    expect(first.headers.get('x-cache')).toBe('miss')
    const fresh = (await first.json()) as { image: Record<string, unknown>; detections: unknown[] }
    expect(fresh.image.thumb_original_url).toEqual(expect.stringContaining(`/__sandbox/thumbs/${id}/original.jpg`))
    expect(fresh.detections.length).toBeGreaterThan(0)

    await standIn('/__sandbox/config', { rate500: 1 })
    await later(env.CACHE, 301)
    const res = await ask(`/v1/images/${id}/detections`)
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBe(200)
    expect(res.headers.get('x-cache')).toBe('stale')
    expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(301)
    expect(Number(res.headers.get('age'))).toBeLessThan(400)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const body = JSON.parse(text)
    // The same image size and detections, pixels and all; the URL (expired by now) is not handed out.
    expect(body).toEqual({ image: { id, width: fresh.image.width, height: fresh.image.height, thumb_original_url: null }, detections: fresh.detections })
    const stats = await standIn('/__sandbox/stats')
    expect(stats.faults).toBeTruthy()

    // Two days on, past the detections' day: still the kept copy while the upstream fails.
    await later(env.CACHE, 2 * 86400)
    const days = await ask(`/v1/images/${id}/detections`)
    expect(days.status).toBe(200)
    expect(days.headers.get('x-cache')).toBe('stale')
    expect(Number(days.headers.get('age'))).toBeGreaterThanOrEqual(2 * 86400)
    expect(await days.json()).toEqual(body)
  })

  it('answers fresh again, with a URL, once the upstream is back', async () => {
    const id = world.sampleImages.multipolygonWithHoles as string
    await later(env.CACHE, 301)
    const res = await ask(`/v1/images/${id}/detections`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).not.toBe('stale')
    expect(res.headers.has('age')).toBe(false)
    expect(((await res.json()) as any).image.thumb_original_url).toEqual(expect.stringContaining(`/__sandbox/thumbs/${id}/original.jpg`))
  })

  it('keeps nothing it never had: an image never asked is an upstream problem (502 or 503) while the upstream is down', async () => {
    const id = world.sampleImages.realDetections as string
    await standIn('/__sandbox/config', { rate500: 1 })
    const res = await ask(`/v1/images/${id}/detections`)
    expect([502, 503]).toContain(res.status)
    expect(((await res.json()) as any).code).toMatch(/^upstream_/)
  })
})
