/**
 * @module
 * Whether an id names a map feature. The upstream answers `/{id}/detections` for an image id as
 * well, so the detections alone cannot tell; a field only map features have can: asked of another
 * kind of object it is a "nonexisting field" (Graph code 100), which the client maps to 404.
 */
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import type { GraphClient } from '../../../shared/upstream/client'
import { identityPart, type UpstreamIdentity } from '../../../shared/upstream/identity'

/**
 * Resolves when `id` is a map feature as `identity` (the identity of `client`'s token) sees it;
 * rejects with the client's `not_found` UpstreamError when it is not.
 */
export async function requireMapFeature(kv: KVNamespace | undefined, client: GraphClient, identity: UpstreamIdentity, id: string, defer?: (p: Promise<unknown>) => void): Promise<void> {
  const key = await cacheKey('entity', { id, fields: 'id,object_value', identity: identityPart(identity) })
  await cached(kv, key, TTL.entityNoUrls, async () => {
    const f = await client.get<{ id: string; object_value?: string }>(`/${id}`, { fields: 'id,object_value' })
    return { id: f.id, object_value: f.object_value ?? null }
  }, { defer })
}
