/**
 * The KV operations of one slice of a map feature's detections are bounded (the platform allows
 * 1,000 subrequests to Cloudflare services per invocation): a batch of images' metadata read
 * inside workerd, with real KV and the stand-in, through the task's own runUnit, each slice a
 * client of its own as the engine makes it. Writes past the bound are not made (the metadata
 * first, then the sizes); a read past it is never skipped: the unit waits for the next slice.
 */
import { env } from 'cloudflare:test'
import { beforeAll, expect, it } from 'vitest'
import { imageSizeKey } from '../../../shared/cache/image-sizes'
import { cacheKey } from '../../../shared/cache/key'
import { UpstreamError } from '../../../shared/upstream/errors'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'
import { sliceClient } from '../../../shared/upstream/request-client'
import { standInCall } from '../../../test/support/stand-in-call'
import { featureDetectionsTask, kvOpsSetting, type FeatureDetectionsUnit } from '../src/feature-detections-task'

const UPSTREAM = env.MAPILLARY_GRAPH_URL
const standIn = standInCall(UPSTREAM)

/**
 * The real KV, each call on images' keys (`entity:`) counted by method (bulk or not, each is one
 * operation). The upstream traits a unit reads are the reserve's, outside the units' bound.
 */
function countedKv() {
  const calls = { get: 0, getWithMetadata: 0, put: 0, list: 0, delete: 0 }
  const kv = new Proxy(env.CACHE, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const key = Array.isArray(args[0]) ? String(args[0][0]) : String(args[0])
        if (typeof prop === 'string' && prop in calls && key.startsWith('entity:')) calls[prop as keyof typeof calls]++
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { kv, calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) }
}

/** Stand-in requests so far that named any of `ids` (other files' requests name other images). */
async function requestsNaming(ids: string[]): Promise<number> {
  const { urls } = (await standIn('/__sandbox/stats')) as { urls: string[] }
  return urls.filter((u) => ids.some((id) => u.includes(id))).length
}

let ids: string[]
let truth: Map<string, { id: string; width: number; height: number; thumb_original_url: string }>
beforeAll(async () => {
  const world = await standIn('/__sandbox/truth/world')
  const feature = world.sampleMapFeatures.seenInSeveralImages as string
  const get = async (path: string) => (await fetch(`${UPSTREAM}${path}`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })).json() as Promise<any>
  const detections = (await get(`/${feature}/detections?fields=id,image`)).data as Array<{ image: { id: string } }>
  ids = [...new Set(detections.map((d) => d.image.id))]
  truth = new Map(await Promise.all(ids.map(async (id) => [id, await get(`/${id}?fields=id,width,height,thumb_original_url`)] as const)))
})

/** The thumbnail URLs' expiry changes with the time asked: compared without it. */
const withoutExpiry = (text: string) => text.replace(/\?exp=\d+/g, '?exp=…')

/** An identity no other test uses: every key this file writes is its own. */
const freshIdentity = (): UpstreamIdentity => `client:${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')}`
const metaKey = (id: string, identity: UpstreamIdentity) => cacheKey('entity', { id, fields: 'image-meta', identity: identityPart(identity) })

it('bounds by default what the free plan leaves after the governor calls and a reserve', () => {
  expect(kvOpsSetting({}, 45)).toBe(1000 - 45 - 100)
  expect(kvOpsSetting({ KV_OPS_PER_SLICE: '300' }, 45)).toBe(300)
  expect(kvOpsSetting({}, 5000)).toBe(10)
})

it('makes no more KV operations in a slice than its bound: writes past it skipped (metadata first), a read past it waits for the next slice', async () => {
  expect(ids.length).toBeGreaterThanOrEqual(3)
  const identity = freshIdentity()
  const n = ids.length
  // Two bulk reads (the metadata, the kept sizes) and n writes: every image's metadata, no size.
  const bound = 2 + n
  const counted = countedKv()
  const task = featureDetectionsTask(counted.kv as unknown as KVNamespace, undefined, { batch: 100, kvOps: bound })
  const unit: FeatureDetectionsUnit = { kind: 'images', at: 0, ids }
  const params = { map_feature_id: '1', identity }
  const expected = withoutExpiry(JSON.stringify(ids.map((id) => truth.get(id))))

  const slice1 = sliceClient(env, undefined)!
  const asked0 = await requestsNaming(ids)
  const first = await task.runUnit(unit, params, slice1)
  expect(withoutExpiry(first.result!)).toBe(expected)
  expect(counted.calls.get).toBe(2)
  expect(counted.calls.put).toBe(n)
  expect(counted.total()).toBe(bound)
  expect(await requestsNaming(ids)).toBe(asked0 + 1)
  // Written: each image's metadata, as the stand-in gives it; skipped: the sizes.
  for (const id of ids) {
    expect(withoutExpiry((await env.CACHE.get(await metaKey(id, identity)))!)).toBe(withoutExpiry(JSON.stringify(truth.get(id))))
    expect(await env.CACHE.get(await imageSizeKey(id, identity))).toBeNull()
  }

  // The same slice has no room for the next unit's read: not skipped, no KV call, no request.
  const before = counted.total()
  const e = await task.runUnit(unit, params, slice1).then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(UpstreamError)
  expect((e as UpstreamError).reason).toBe('budget_exhausted')
  expect(counted.total()).toBe(before)
  expect(await requestsNaming(ids)).toBe(asked0 + 1)

  // The next slice (a client of its own) has its bound again: the unit answers from KV, one read.
  const again = await task.runUnit(unit, params, sliceClient(env, undefined)!)
  expect(withoutExpiry(again.result!)).toBe(expected)
  expect(counted.total()).toBe(before + 1)
  expect(await requestsNaming(ids)).toBe(asked0 + 1)
})

it('writes the sizes too when the bound holds them, and never more than it', async () => {
  const identity = freshIdentity()
  const n = ids.length
  // Room for the metadata and all but one size.
  const bound = 2 + 2 * n - 1
  const counted = countedKv()
  const task = featureDetectionsTask(counted.kv as unknown as KVNamespace, undefined, { batch: 100, kvOps: bound })
  const result = await task.runUnit({ kind: 'images', at: 0, ids }, { map_feature_id: '1', identity }, sliceClient(env, undefined)!)
  expect(withoutExpiry(result.result!)).toBe(withoutExpiry(JSON.stringify(ids.map((id) => truth.get(id)))))
  expect(counted.calls.put).toBe(2 * n - 1)
  expect(counted.total()).toBe(bound)
  const kept = await Promise.all(ids.map(async (id) => env.CACHE.get(await imageSizeKey(id, identity), 'json')))
  expect(kept.filter((k) => k !== null)).toHaveLength(n - 1)
  for (const [i, k] of kept.entries()) if (k !== null) expect(k).toEqual({ width: truth.get(ids[i]!)!.width, height: truth.get(ids[i]!)!.height })
})
