/**
 * @module
 * mly-feature-images: the images in which a map feature is visible, with their JPEG URLs.
 */
import { z } from 'zod'
import type { Point } from 'geojson'
import { answer } from '../../../shared/http/answer'
import { createTaskApp } from '../../../shared/http/task-app'
import { mapFeatureId, validate } from '../../../shared/http/validation'
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { clientForRequest } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { progressRoutes } from './progress'

interface UpstreamFeature {
  id: string
  object_value?: string
  geometry?: Point
  images?: { data: { id: string }[] }
}

const app = createTaskApp<{ Bindings: Env }>('mly-feature-images')

// For the jobs Worker: 0 of 1 until a job has the answer (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

app.get('/v1/map-features/:mapFeatureId/images', validate('param', z.object({ mapFeatureId })), async (c) => {
  const { mapFeatureId: id } = c.req.valid('param')
  // A client's token may see what the server's may not: what it fetched is cached for it alone.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const key = await cacheKey('mf-images', { id, identity: identityPart(identity) })
  let requests = 0
  // Short TTL: the answer carries thumbnail URLs, which expire upstream.
  const { value, hit } = await cached(
    c.env.CACHE,
    key,
    TTL.withThumbUrls,
    async () => {
      const client = clientForRequest(c.env, c.req.header('authorization'))
      const feature = await client.get<UpstreamFeature>(`/${id}`, { fields: 'id,object_value,geometry,images' })
      const imageIds = feature.images?.data.map((i) => i.id) ?? []
      const images = await Promise.all(
        imageIds.map(async (i) => {
          const img = await client.get<{ id: string; thumb_original_url: string }>(`/${i}`, { fields: 'id,thumb_original_url' })
          return { id: img.id, thumb_original_url: img.thumb_original_url }
        }),
      )
      requests = client.stats.requests
      return {
        map_feature: { id: feature.id, object_value: feature.object_value ?? null, geometry: feature.geometry ?? null },
        images,
      }
    },
    { defer: (p) => c.executionCtx.waitUntil(p) },
  )
  return answer(value, { maxAge: 300, hit, upstreamRequests: requests })
})

export default app
