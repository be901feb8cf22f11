/**
 * @module
 * Images' width and height, shared by every task that draws pixels: they never change, so each is
 * kept a month in KV under the key the image route already keeps it under, and the misses are read
 * in batches (`/images?image_ids=…&fields=id,width,height`).
 */
import { readImages } from '../upstream/batch-read'
import type { GraphClient } from '../upstream/client'
import { identityPart, type UpstreamIdentity } from '../upstream/identity'
import { writeKept } from './cached'
import { cacheKey } from './key'
import type { KVLike } from './kv'
import { readTexts } from './kv-bulk'
import { TTL } from './ttl'

/** An image's size in pixels. */
export interface ImageSize {
  width: number
  height: number
}

/** What {@link imageSizes} found, and what it cost. */
export interface ImageSizes {
  /** The size of each id that has one. */
  sizes: Map<string, ImageSize>
  /** Ids the upstream does not know. */
  absent: Set<string>
  /** Ids the upstream answered without a numeric width and height (neither kept nor guessed). */
  unsized: Set<string>
  /** The batch size the upstream reads ended with (smaller than asked after a refusal). */
  batch: number
  /** Upstream requests made (0 when KV held every size). */
  requests: number
  /** KV operations made, each a subrequest on the platform: `reads` (a bulk read of ≤ 100 keys is one) and `writes`. */
  kv: { reads: number; writes: number }
}

/**
 * The KV key of `id`'s kept size (`entity`, fields `width,height`, the identity's part; KEYS.md).
 * @example await imageSizeKey('315219450124680', 'server') // 'entity:v1:…'
 */
export function imageSizeKey(id: string, identity: UpstreamIdentity): Promise<string> {
  return cacheKey('entity', { id, fields: 'width,height', identity: identityPart(identity) })
}

/**
 * The sizes of `ids` as `identity` (the identity of `client`'s token) sees them: kept ones from KV
 * (bulk reads of up to 100 keys; one read per key where the binding takes no list), the rest read
 * through {@link readImages} in batches of `batch` and kept `TTL.imageSize` (30 days) with the time
 * written, the writes handed to `defer` so they never delay the answer. A failing KV reads as
 * nothing kept; upstream failures other than an unknown id are thrown.
 *
 * @example
 * const { sizes, absent } = await imageSizes(env.CACHE, client, 'server', ['315219450124680'], { batch: 100, defer: (p) => ctx.waitUntil(p) })
 * sizes.get('315219450124680') // { width: 4032, height: 3024 }
 */
export async function imageSizes(
  kv: KVLike | undefined,
  client: GraphClient,
  identity: UpstreamIdentity,
  ids: Iterable<string>,
  opts: { batch: number; defer?: (p: Promise<unknown>) => void },
): Promise<ImageSizes> {
  const wanted = [...new Set(ids)]
  const keys = new Map(await Promise.all(wanted.map(async (id) => [id, await imageSizeKey(id, identity)] as const)))
  const ops = { reads: 0, writes: 0 }
  const kept = await readTexts(kv, [...keys.values()], ops)
  const sizes = new Map<string, ImageSize>()
  const misses: string[] = []
  for (const id of wanted) {
    const size = parseSize(kept.get(keys.get(id)!) ?? null)
    if (size) sizes.set(id, size)
    else misses.push(id)
  }
  const result: ImageSizes = { sizes, absent: new Set(), unsized: new Set(), batch: opts.batch, requests: 0, kv: ops }
  if (misses.length === 0) return result

  const read = await readImages<{ id: string; width?: unknown; height?: unknown }>(client, misses, 'id,width,height', { batch: opts.batch })
  result.absent = read.absent
  result.batch = read.batch
  result.requests = read.requests
  for (const id of misses) {
    const image = read.found.get(id)
    if (!image) continue
    const size = parseSize(image)
    if (!size) {
      result.unsized.add(id)
      continue
    }
    sizes.set(id, size)
    ops.writes++
    await writeKept(kv, keys.get(id)!, JSON.stringify(size), TTL.imageSize, { defer: opts.defer })
  }
  // Wanted order, kept or read alike.
  result.sizes = new Map(wanted.flatMap((id) => (sizes.has(id) ? [[id, sizes.get(id)!] as const] : [])))
  return result
}

function parseSize(v: string | { width?: unknown; height?: unknown } | null): ImageSize | null {
  if (v === null) return null
  let o: { width?: unknown; height?: unknown }
  if (typeof v === 'string') {
    try {
      o = JSON.parse(v) as typeof o
    } catch {
      return null
    }
  } else o = v
  const { width, height } = o ?? {}
  return typeof width === 'number' && typeof height === 'number' && Number.isFinite(width) && Number.isFinite(height) && width > 0 && height > 0 ? { width, height } : null
}
