/**
 * @module
 * Image metadata the pixel geometry needs. The thumbnail URL expires upstream, so the metadata
 * holding it lives minutes in KV; the width and height never change, so they are also kept a month
 * under the key every pixel task shares (`imageSizeKey`), and answer (without a URL) while the
 * upstream fails. Many images' metadata is read in batches (`/images?image_ids=`).
 */
import { cacheKey, cached, readKept, TTL, writeKept, type Stale } from '../../../shared/cache/kv-cache'
import { imageSizeKey } from '../../../shared/cache/image-sizes'
import type { KVLike } from '../../../shared/cache/kv'
import { KV_BULK_KEYS, KvBudget, readTexts } from '../../../shared/cache/kv-bulk'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import { readImages } from '../../../shared/upstream/batch-read'
import type { GraphClient } from '../../../shared/upstream/client'
import { UpstreamError } from '../../../shared/upstream/errors'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'

export interface ImageMeta {
  id: string
  width: number
  height: number
  thumb_original_url: string
}

/** What an answer may say of its image when the upstream fails: the kept size, no URL. */
export type ImageMetaOrSize = ImageMeta | (Omit<ImageMeta, 'thumb_original_url'> & { thumb_original_url: null })

/** The key of `id`'s kept size (`entity`, fields `width,height`, `TTL.imageSize`), shared with every pixel task. */
const sizeKey = imageSizeKey

/** The key of `id`'s metadata with its URL (`entity`, the named set `image-meta`, `TTL.withThumbUrls`). */
function metaKey(id: string, identity: UpstreamIdentity): Promise<string> {
  return cacheKey('entity', { id, fields: 'image-meta', identity: identityPart(identity) })
}

/**
 * `id`'s metadata as `identity` (the identity of `client`'s token) sees it; fetched, it also keeps
 * the size for a month ({@link imageMetaOrKeptSize} answers it while the upstream is down).
 *
 * @example
 * const meta = await imageMeta(env.CACHE, client, 'server', '315219450124680', defer) // {id, width, height, thumb_original_url}
 */
export async function imageMeta(kv: KVNamespace | undefined, client: GraphClient, identity: UpstreamIdentity, id: string, defer?: (p: Promise<unknown>) => void): Promise<ImageMeta> {
  const key = await metaKey(id, identity)
  const { value } = await cached(kv, key, TTL.withThumbUrls, async () => {
    const sKey = await sizeKey(id, identity)
    // The kept size is read beside the fetch (no wait): when there, it is the answer's size and is
    // not written again (KV writes are the scarce kind).
    const [m, kept] = await Promise.all([client.get<ImageMeta>(`/${id}`, { fields: 'id,width,height,thumb_original_url' }), readKept(kv, sKey)])
    const size = (kept && parseSize(kept.text)) ?? { width: m.width, height: m.height }
    if (!kept) await writeKept(kv, sKey, JSON.stringify(size), TTL.imageSize, { defer })
    return { id: m.id, ...size, thumb_original_url: m.thumb_original_url }
  }, { defer })
  return value
}

/**
 * The metadata of many images (`ids` distinct) as `identity` sees them: what KV holds (bulk reads
 * of ≤ 100 keys), the rest read through {@link readImages} in batches of `opts.batch`, each kept
 * like {@link imageMeta} keeps one (its metadata 300 s; its size a month, written only when not
 * kept yet). An image the upstream does not know throws the not_found `GET /{id}` would have.
 *
 * Its KV operations are taken from `opts.kv` (default: unbounded): a read past it throws
 * `KvBudgetExhausted` before any upstream request; writes past it are not made (counted in
 * `skipped`), the metadata first (it spares the next question its requests for 300 s), then the
 * sizes (written again whenever the image is next read without one kept). The writes are made side
 * by side and awaited, or handed unstarted to `opts.hold` (already counted in `opts.kv`).
 *
 * @example
 * const metas = await imageMetas(env.CACHE, client, 'server', ['1', '2'], { batch: 100, kv: new KvBudget(800) }) // Map id → ImageMeta
 */
export async function imageMetas(
  kv: KVLike | undefined,
  client: GraphClient,
  identity: UpstreamIdentity,
  ids: readonly string[],
  opts: { batch: number; onSmaller?: (batch: number) => void; kv?: KvBudget; hold?: (writes: Array<() => Promise<void>>) => void },
): Promise<Map<string, ImageMeta>> {
  const budget = opts.kv ?? new KvBudget(Infinity)
  const wanted = [...new Set(ids)]
  const keys = new Map(await Promise.all(wanted.map(async (id) => [id, await metaKey(id, identity)] as const)))
  const held = await readTexts(kv, [...keys.values()], budget)
  const metas = new Map<string, ImageMeta>()
  const misses: string[] = []
  for (const id of wanted) {
    const meta = parseMeta(held.get(keys.get(id)!))
    if (meta) metas.set(id, meta)
    else misses.push(id)
  }
  if (misses.length > 0) {
    const sizeKeys = new Map(await Promise.all(misses.map(async (id) => [id, await sizeKey(id, identity)] as const)))
    // The kept sizes' read is held before the upstream is asked: a budget without room for it costs no request.
    const sizeReads = kv ? Math.ceil(misses.length / KV_BULK_KEYS) : 0
    budget.read(sizeReads)
    const read = await readImages<ImageMeta>(client, misses, 'id,width,height,thumb_original_url', { batch: opts.batch, onSmaller: opts.onSmaller })
    const missing = misses.find((id) => read.absent.has(id))
    if (missing !== undefined) {
      throw new UpstreamError('not_found', `Graph API GET /${missing} failed: HTTP 400 (not_found)`, { status: 400, graphCode: 100, tokenSource: client.tokenSource })
    }
    // Handed back to the read itself, which takes it again before its first await.
    budget.reads -= sizeReads
    const keptSizes = await readTexts(kv, [...sizeKeys.values()], budget)
    const sizes: Array<[string, string]> = []
    const writes: Array<() => Promise<void>> = []
    for (const id of misses) {
      const m = read.found.get(id)!
      const kept = parseSize(keptSizes.get(sizeKeys.get(id)!) ?? '')
      const meta: ImageMeta = { id: m.id, ...(kept ?? { width: m.width, height: m.height }), thumb_original_url: m.thumb_original_url }
      metas.set(id, meta)
      if (kv && budget.write()) writes.push(() => cachedWrite(kv, keys.get(id)!, JSON.stringify(meta), TTL.withThumbUrls))
      if (!kept) sizes.push([sizeKeys.get(id)!, JSON.stringify({ width: meta.width, height: meta.height })])
    }
    for (const [key, text] of sizes) if (kv && budget.write()) writes.push(() => writeKept(kv, key, text, TTL.imageSize))
    // Handed to `hold` unstarted (already counted), else made side by side and awaited.
    if (opts.hold) opts.hold(writes)
    else await Promise.all(writes.map((w) => w()))
  }
  return new Map(wanted.map((id) => [id, metas.get(id)!]))
}

/**
 * {@link imageMeta}, or, when the upstream fails and the size is kept, `{id, width, height,
 * thumb_original_url: null}` marked stale with the size's age. Any other failure propagates.
 *
 * @example
 * const { meta, stale } = await imageMetaOrKeptSize(env.CACHE, client, 'server', id, defer)
 */
export async function imageMetaOrKeptSize(kv: KVNamespace | undefined, client: GraphClient, identity: UpstreamIdentity, id: string, defer?: (p: Promise<unknown>) => void): Promise<{ meta: ImageMetaOrSize; stale?: Stale }> {
  try {
    return { meta: await imageMeta(kv, client, identity, id, defer) }
  } catch (error) {
    if (!isUpstreamTrouble(error)) throw error
    const kept = await readKept(kv, await sizeKey(id, identity))
    const size = kept ? parseSize(kept.text) : null
    if (!kept || !size) throw error
    return { meta: { id, ...size, thumb_original_url: null }, stale: { ageSeconds: kept.ageSeconds } }
  }
}

/** A stored `image-meta` value, or null when absent or not one. */
function parseMeta(text: string | undefined): ImageMeta | null {
  if (text === undefined) return null
  try {
    const m = JSON.parse(text) as Partial<ImageMeta>
    return typeof m?.id === 'string' && typeof m.width === 'number' && typeof m.height === 'number' && typeof m.thumb_original_url === 'string' ? (m as ImageMeta) : null
  } catch {
    return null
  }
}

/** A best-effort KV write as `cached` makes it (its TTL, no metadata). */
async function cachedWrite(kv: KVLike, key: string, text: string, ttlSeconds: number): Promise<void> {
  await kv.put(key, text, { expirationTtl: ttlSeconds }).catch(() => undefined)
}

function parseSize(text: string): { width: number; height: number } | null {
  try {
    const { width, height } = JSON.parse(text) as { width?: unknown; height?: unknown }
    return typeof width === 'number' && typeof height === 'number' ? { width, height } : null
  } catch {
    return null
  }
}
