/**
 * How long the feature-images Worker keeps its answers in KV (inside workerd, real KV): an answer
 * holding thumbnail URLs is short-lived, and never outlives the URLs it holds.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { DOCUMENTED_TTL, expectExpiresAfter, keyNames, newKeys, thumbUrlExpiry } from '../../../test/support/kv-keys'

async function world(): Promise<any> {
  return (await fetch(`${env.MAPILLARY_GRAPH_URL}/__sandbox/truth/world`)).json()
}

it('keeps a feature’s images (thumbnail URLs) in KV for 300 s, never past the URLs’ own expiry', async () => {
  const id = (await world()).sampleMapFeatures.seenInSeveralImages as string
  const before = await keyNames(env.CACHE, 'mf-images')
  const t0 = Date.now()
  const res = await exports.default.fetch(`https://fi.test/v1/map-features/${id}/images`)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { images: Array<{ thumb_original_url: string }> }
  expect(body.images.length).toBeGreaterThan(0)
  const keys = await newKeys(env.CACHE, 'mf-images', before)
  expect(keys).toHaveLength(1)
  const key = keys[0]!
  expectExpiresAfter(key, DOCUMENTED_TTL.withThumbUrls, t0, Date.now())
  expect(await env.CACHE.get(key.name, 'json')).toEqual(body)
  for (const image of body.images) expect(thumbUrlExpiry(image.thumb_original_url)).toBeGreaterThanOrEqual(key.expiration!)
})
