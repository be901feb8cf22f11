/**
 * How long the detection-geometry Worker keeps what it fetched in KV (inside workerd, real KV):
 * detections a day, image metadata (it holds a thumbnail URL) minutes and never past that URL's
 * expiry, the map-feature kind check (no URL, asked only of a feature with no detections) a day. Keys are told apart by their kind and value.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { beforeAll, expect, it } from 'vitest'
import { DOCUMENTED_TTL, expectExpiresAfter, keyNames, newKeys, thumbUrlExpiry, type ListedKey } from '../../../test/support/kv-keys'

let world: any
beforeAll(async () => {
  world = await (await fetch(`${env.MAPILLARY_GRAPH_URL}/__sandbox/truth/world`)).json()
})

/** The entity keys with their values, split into those holding a thumbnail URL and the others. */
async function entities(keys: ListedKey[]) {
  const withUrl: Array<{ key: ListedKey; url: string }> = []
  const without: ListedKey[] = []
  for (const key of keys) {
    const value = (await env.CACHE.get(key.name, 'json')) as Record<string, unknown>
    if (typeof value?.thumb_original_url === 'string') withUrl.push({ key, url: value.thumb_original_url })
    else without.push(key)
  }
  return { withUrl, without }
}

/** An image's width and height, kept apart from its URL (KEYS.md `entity`, fields `width,height`): 30 days. */
const IMAGE_SIZE_TTL = 30 * 86400
/** How long a copy of the detections outlives their day, under `stale:` (KEYS.md, stale-if-error). */
const STALE_DETECTIONS = 7 * 86400

it('keeps an image’s detections a day (a copy a week more), its metadata (a thumbnail URL) 300 s, its size 30 days', async () => {
  const id = world.sampleImages.ordinary as string
  const before = { detections: await keyNames(env.CACHE, 'img-detections'), entity: await keyNames(env.CACHE, 'entity') }
  const t0 = Date.now()
  const res = await exports.default.fetch(`https://dg.test/v1/images/${id}/detections`)
  expect(res.status).toBe(200)
  const detections = await newKeys(env.CACHE, 'img-detections', before.detections)
  const { withUrl, without } = await entities(await newKeys(env.CACHE, 'entity', before.entity, 2))
  const t1 = Date.now()
  expect(detections).toHaveLength(1)
  expectExpiresAfter(detections[0]!, DOCUMENTED_TTL['img-detections'], t0, t1)
  expect(withUrl).toHaveLength(1)
  expectExpiresAfter(withUrl[0]!.key, DOCUMENTED_TTL.withThumbUrls, t0, t1)
  expect(thumbUrlExpiry(withUrl[0]!.url)).toBeGreaterThanOrEqual(withUrl[0]!.key.expiration!)
  // The size, without the URL, for long.
  expect(without).toHaveLength(1)
  expect(await env.CACHE.get(without[0]!.name, 'json')).toEqual({ width: expect.any(Number), height: expect.any(Number) })
  expectExpiresAfter(without[0]!, IMAGE_SIZE_TTL, t0, t1)
  const copy = await env.CACHE.list({ prefix: `stale:${detections[0]!.name}` })
  expect(copy.keys).toHaveLength(1)
  expectExpiresAfter(copy.keys[0]!, DOCUMENTED_TTL['img-detections'] + STALE_DETECTIONS, t0, t1)
  expect(await env.CACHE.get(copy.keys[0]!.name)).toBe(await env.CACHE.get(detections[0]!.name))
})

it('keeps a map feature’s detections a day, each image’s metadata 300 s and size 30 days (its kind: not asked, its detections tell)', async () => {
  const id = world.sampleMapFeatures.seenInSeveralImages as string
  const images = world.sampleMapFeatures.seenInSeveralImagesCount as number
  const before = { detections: await keyNames(env.CACHE, 'mf-detections'), entity: await keyNames(env.CACHE, 'entity') }
  const t0 = Date.now()
  const res = await exports.default.fetch(`https://dg.test/v1/map-features/${id}/detections`)
  expect(res.status).toBe(200)
  const detections = await newKeys(env.CACHE, 'mf-detections', before.detections)
  const { withUrl, without } = await entities(await newKeys(env.CACHE, 'entity', before.entity, 2 * images))
  const t1 = Date.now()
  expect(detections).toHaveLength(1)
  expectExpiresAfter(detections[0]!, DOCUMENTED_TTL['mf-detections'], t0, t1)
  expect(withUrl).toHaveLength(images)
  for (const { key, url } of withUrl) {
    expectExpiresAfter(key, DOCUMENTED_TTL.withThumbUrls, t0, t1)
    expect(thumbUrlExpiry(url)).toBeGreaterThanOrEqual(key.expiration!)
  }
  const sizes: ListedKey[] = []
  const kinds: ListedKey[] = []
  for (const key of without) (typeof ((await env.CACHE.get(key.name, 'json')) as Record<string, unknown>).width === 'number' ? sizes : kinds).push(key)
  expect(kinds).toHaveLength(0)
  expect(sizes).toHaveLength(images)
  for (const key of sizes) expectExpiresAfter(key, IMAGE_SIZE_TTL, t0, t1)
})
