/**
 * @module
 * Image metadata the pixel geometry needs. Short-lived in KV: `thumb_original_url` expires upstream.
 */
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import type { GraphClient } from '../../../shared/upstream/client'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'

export interface ImageMeta {
  id: string
  width: number
  height: number
  thumb_original_url: string
}

/** `id`'s metadata as `identity` (the identity of `client`'s token) sees it. */
export async function imageMeta(kv: KVNamespace | undefined, client: GraphClient, identity: UpstreamIdentity, id: string, defer?: (p: Promise<unknown>) => void): Promise<ImageMeta> {
  const key = await cacheKey('entity', { id, fields: 'image-meta', identity: identityPart(identity) })
  const { value } = await cached(kv, key, TTL.withThumbUrls, async () => {
    const m = await client.get<ImageMeta>(`/${id}`, { fields: 'id,width,height,thumb_original_url' })
    return { id: m.id, width: m.width, height: m.height, thumb_original_url: m.thumb_original_url }
  }, { defer })
  return value
}
