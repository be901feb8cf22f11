/**
 * Stale-if-error for the map features in a box (issue 9): the answer holds no URL, so while the
 * upstream fails (the stand-in's rate500) the copy kept a day past its hour answers, `X-Cache:
 * stale` with its `Age`. The clock is moved past the hour with vi's fake Date (the Worker and its
 * objects run in this isolate) and KV made what it would be then (entries expired by that time
 * dropped: local KV expires on its own clock).
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, expect, it, vi } from 'vitest'
import { later } from '../../../test/support/later'
import { standInCall } from '../../../test/support/stand-in-call'

const standIn = standInCall(env.MAPILLARY_GRAPH_URL)

/** The box answer's KV entries, once written (the sweep object writes after the answer was sent). */
async function storedEntries(): Promise<KVNamespaceListKey<unknown, string>[]> {
  for (let waited = 0; ; waited += 20) {
    const keys = (await env.CACHE.list()).keys.filter((k) => k.name.includes('mf-bbox:'))
    if (keys.length > 0 || waited > 5000) return keys
    await new Promise((r) => setTimeout(r, 20))
  }
}

afterEach(async () => {
  vi.useRealTimers()
  await standIn('/__sandbox/reset', {})
})

it('answers the kept copy, stale with its age, past the hour while the upstream fails; a box never answered gets the upstream’s problem', async () => {
  const box = 'https://mf.test/v1/map-features?bbox=12.985,55.585,13.015,55.615&fields=object_type'
  const first = await exports.default.fetch(box)
  expect(first.status).toBe(200)
  const text = await first.text()
  expect(JSON.parse(text).features.length).toBeGreaterThan(0)
  // The sweep object stores the answer once it has sent it: one entry, its own stale copy, with its tag.
  const entries = await storedEntries()
  const tag = first.headers.get('etag')
  expect(tag).toMatch(/^"[0-9a-f]{32}"$/)
  expect(entries.map((k) => [k.name.startsWith('mf-bbox:'), (k.metadata as { etag?: string }).etag])).toStrictEqual([[true, tag]])
  expect(await env.CACHE.get(entries[0]!.name, 'text')).toBe(text)

  await standIn('/__sandbox/config', { rate500: 1 })
  await later(env.CACHE, 3600 + 60)
  const res = await exports.default.fetch(box)
  const body = await res.text()
  expect(res.status, body.slice(0, 300)).toBe(200)
  expect(res.headers.get('x-cache')).toBe('stale')
  expect(res.headers.get('content-type')).toBe('application/geo+json; charset=utf-8')
  expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(3600 + 60)
  expect(Number(res.headers.get('age'))).toBeLessThan(3600 + 600)
  expect(body).toBe(text)
  expect(res.headers.get('etag')).toBe(tag)

  // A box never answered has nothing kept: the upstream's problem.
  const other = await exports.default.fetch('https://mf.test/v1/map-features?bbox=12.985,55.585,13.015,55.615&fields=first_seen_at')
  expect([502, 503]).toContain(other.status)
})
