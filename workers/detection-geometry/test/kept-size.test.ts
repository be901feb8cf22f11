/**
 * An image's kept size (KEYS.md `entity`, fields `width,height`, 30 days) shared by every pixel task:
 * the image route uses it when there and does not write it again (KV writes are the scarce kind),
 * and KV's bulk reads, which the batch paths rely on, work in this runtime (inside workerd, real KV).
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { readTexts } from '../../../shared/cache/kv-bulk'
import { keyNames, newKeys } from '../../../test/support/kv-keys'

it('KV answers a list of keys with a Map in one read (bulk reads work here)', async () => {
  await env.CACHE.put('bulk-probe:a', 'A')
  await env.CACHE.put('bulk-probe:c', 'C')
  const got = await env.CACHE.get(['bulk-probe:a', 'bulk-probe:b', 'bulk-probe:c'], 'text')
  expect(got).toBeInstanceOf(Map)
  expect([...got]).toEqual([
    ['bulk-probe:a', 'A'],
    ['bulk-probe:b', null],
    ['bulk-probe:c', 'C'],
  ])
  const ops = { reads: 0 }
  const texts = await readTexts(env.CACHE, Array.from({ length: 150 }, (_, i) => (i === 7 ? 'bulk-probe:a' : `bulk-probe:none-${i}`)), ops)
  expect(ops.reads).toBe(2)
  expect([...texts]).toEqual([['bulk-probe:a', 'A']])
})

it('the image route takes the size it keeps, and does not write it again when it asks the upstream for a fresh URL', async () => {
  const world = (await (await fetch(`${env.MAPILLARY_GRAPH_URL}/__sandbox/truth/world`)).json()) as any
  const id = world.sampleImages.ordinary as string
  const truth = (await (await fetch(`${env.MAPILLARY_GRAPH_URL}/${id}?fields=id,width,height`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })).json()) as { width: number; height: number }
  const ask = () => exports.default.fetch(`https://dg.test/v1/images/${id}/detections`)

  const before = await keyNames(env.CACHE, 'entity')
  const first = await ask()
  expect(first.status).toBe(200)
  const firstBody = (await first.json()) as { image: { width: number; height: number }; detections: unknown[] }
  expect(firstBody.image).toMatchObject({ width: truth.width, height: truth.height })
  const fresh = await newKeys(env.CACHE, 'entity', before, 2)
  const valueOf = async (name: string) => (await env.CACHE.get(name, 'json')) as Record<string, unknown>
  const kinds = await Promise.all(fresh.map(async (k) => ({ name: k.name, value: await valueOf(k.name) })))
  const meta = kinds.find((k) => typeof k.value.thumb_original_url === 'string')!
  const size = kinds.find((k) => k.value.thumb_original_url === undefined)!
  expect(size.value).toEqual({ width: truth.width, height: truth.height })

  // The size was kept long ago (its metadata says when); the URL's entry is gone (its 300 s ended).
  await env.CACHE.put(size.name, JSON.stringify(size.value), { expirationTtl: 30 * 86400, metadata: { written: 1_000 } })
  await env.CACHE.delete(meta.name)
  const again = await ask()
  expect(again.status).toBe(200)
  expect(again.headers.get('x-upstream-requests')).toBe('1')
  const againBody = (await again.json()) as { image: { width: number; height: number }; detections: unknown[] }
  expect(againBody.image).toMatchObject({ width: truth.width, height: truth.height })
  expect(againBody.detections).toEqual(firstBody.detections)
  // The fresh URL's entry is written again; the size is not.
  await newKeys(env.CACHE, 'entity', new Set([...before, ...fresh.map((k) => k.name)].filter((n) => n !== meta.name)), 1)
  const kept = await env.CACHE.getWithMetadata(size.name, 'json')
  expect(kept.metadata).toEqual({ written: 1_000 })
  expect(kept.value).toEqual({ width: truth.width, height: truth.height })
})
