/**
 * @module
 * mly-detection-geometry: detections of an image or of a map feature with their pixel geometry,
 * and `POST /v1/decode` for a geometry the caller already has.
 */
import { z } from 'zod'
import { answer } from '../../../shared/http/answer'
import { fail } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { decodeBody, imageId, mapFeatureId, validate } from '../../../shared/http/validation'
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import { pixelGeometry } from '../../../shared/mvt/pixel-geometry'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { clientForRequest } from '../../../shared/upstream/request-client'
import { imageMeta } from './image-meta'
import { progressRoutes } from './progress'
import { requireMapFeature } from './map-feature-kind'
import type { Env } from './env'

interface Detection {
  id: string
  value?: string
  geometry?: string
  image?: { id: string }
}

const app = createTaskApp<{ Bindings: Env }>('mly-detection-geometry')

// For the jobs Worker: 0 of 1 until a job has the answer (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

app.get('/v1/images/:imageId/detections', validate('param', z.object({ imageId })), async (c) => {
  const { imageId: id } = c.req.valid('param')
  const client = clientForRequest(c.env, c.req.header('authorization'))
  // A client's token may see what the server's may not: what it fetched is cached for it alone.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p)
  const detectionsKey = await cacheKey('img-detections', { id, identity: identityPart(identity) })
  const [image, detections] = await Promise.all([
    imageMeta(c.env.CACHE, client, identity, id, defer),
    cached(c.env.CACHE, detectionsKey, TTL.detections, async () => (await client.get<{ data: Detection[] }>(`/${id}/detections`, { fields: 'id,value,geometry' })).data, { defer }),
  ])
  return answer(
    { image, detections: detections.value.map((d) => withPixels(d, image.width, image.height)) },
    { maxAge: 300, hit: client.stats.requests === 0, upstreamRequests: client.stats.requests },
  )
})

app.get('/v1/map-features/:mapFeatureId/detections', validate('param', z.object({ mapFeatureId })), async (c) => {
  const { mapFeatureId: id } = c.req.valid('param')
  const client = clientForRequest(c.env, c.req.header('authorization'))
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p)
  const key = await cacheKey('mf-detections', { id, identity: identityPart(identity) })
  // The upstream lists detections of an image id too: an id of another kind is 404 like elsewhere.
  const [{ value: detections }] = await Promise.all([
    cached(
      c.env.CACHE,
      key,
      TTL.detections,
      async () => (await client.get<{ data: Detection[] }>(`/${id}/detections`, { fields: 'id,value,geometry,image' })).data,
      { defer },
    ),
    requireMapFeature(c.env.CACHE, client, identity, id, defer),
  ])
  const imageIds = [...new Set(detections.flatMap((d) => (d.image?.id ? [d.image.id] : [])))]
  const images = new Map((await Promise.all(imageIds.map((i) => imageMeta(c.env.CACHE, client, identity, i, defer)))).map((m) => [m.id, m]))
  return answer(
    {
      map_feature: { id },
      detections: detections.map((d) => {
        const image = d.image?.id ? images.get(d.image.id) : undefined
        if (!image) fail('upstream_error', `The upstream named no image for detection ${d.id}.`)
        return { ...withPixels(d, image.width, image.height), image }
      }),
    },
    { maxAge: 300, hit: client.stats.requests === 0, upstreamRequests: client.stats.requests },
  )
})

app.post('/v1/decode', validate('json', decodeBody), (c) => {
  const { geometry, width, height } = c.req.valid('json')
  const decoded = pixelGeometry(geometry, width, height)
  if (!decoded.ok) fail(decoded.failure.reason, decoded.failure.detail)
  return c.json({ pixel_geometry: decoded.geometry })
})

export default app
