/**
 * @module
 * Image metadata the pixel geometry needs. The thumbnail URL expires upstream, so the metadata
 * holding it lives minutes in KV; the width and height never change, so they are also kept a month
 * under a key of their own, and answer (without a URL) while the upstream fails.
 */
import { cacheKey, cached, readKept, TTL, writeKept, type Stale } from '../../../shared/cache/kv-cache'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import type { GraphClient } from '../../../shared/upstream/client'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'

export interface ImageMeta {
  id: string
  width: number
  height: number
  thumb_original_url: string
}

/** What an answer may say of its image when the upstream fails: the kept size, no URL. */
export type ImageMetaOrSize = ImageMeta | (Omit<ImageMeta, 'thumb_original_url'> & { thumb_original_url: null })

/** The key of `id`'s kept size (`entity`, fields `width,height`, `TTL.imageSize`). */
async function sizeKey(id: string, identity: UpstreamIdentity): Promise<string> {
  return cacheKey('entity', { id, fields: 'width,height', identity: identityPart(identity) })
}

/**
 * `id`'s metadata as `identity` (the identity of `client`'s token) sees it; fetched, it also keeps
 * the size for a month ({@link imageMetaOrKeptSize} answers it while the upstream is down).
 *
 * @example
 * const meta = await imageMeta(env.CACHE, client, 'server', '315219450124680', defer) // {id, width, height, thumb_original_url}
 */
export async function imageMeta(kv: KVNamespace | undefined, client: GraphClient, identity: UpstreamIdentity, id: string, defer?: (p: Promise<unknown>) => void): Promise<ImageMeta> {
  const key = await cacheKey('entity', { id, fields: 'image-meta', identity: identityPart(identity) })
  const { value } = await cached(kv, key, TTL.withThumbUrls, async () => {
    const m = await client.get<ImageMeta>(`/${id}`, { fields: 'id,width,height,thumb_original_url' })
    await writeKept(kv, await sizeKey(id, identity), JSON.stringify({ width: m.width, height: m.height }), TTL.imageSize, { defer })
    return { id: m.id, width: m.width, height: m.height, thumb_original_url: m.thumb_original_url }
  }, { defer })
  return value
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

function parseSize(text: string): { width: number; height: number } | null {
  try {
    const { width, height } = JSON.parse(text) as { width?: unknown; height?: unknown }
    return typeof width === 'number' && typeof height === 'number' ? { width, height } : null
  } catch {
    return null
  }
}
