/**
 * @module
 * mly-detection-geometry: detections of an image or of a map feature with their pixel geometry,
 * and `POST /v1/decode` for a geometry the caller already has.
 *
 * An image's detections take two requests, made here. A map feature's take one, then one per
 * batch of `BATCH_IDS` images they name (`/images?image_ids=`): the FeatureDetectionsJob Durable
 * Object of the question makes them over as many budgeted invocations as the feature needs (one
 * invocation may make only SUBREQUEST_BUDGET upstream calls).
 */
import { z } from 'zod'
import { answer, answerJson } from '../../../shared/http/answer'
import { fail, ProblemError } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { decodeBody, imageId, mapFeatureId, validate } from '../../../shared/http/validation'
import { cacheKey, cached, STALE_IF_ERROR, TTL } from '../../../shared/cache/kv-cache'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import { pixelGeometry } from '../../../shared/mvt/pixel-geometry'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { clientForRequest, requireToken } from '../../../shared/upstream/request-client'
import { callObject } from '../../../shared/fanout/call-object'
import type { JobAnswer } from '../../../shared/engine/job-runner'
import { bodyWithin } from '../../../shared/http/body-limit'
import { imageMetaOrKeptSize } from './image-meta'
import { decodeLimits, type DecodeSettings } from './decode-limits'
import { progressRoutes } from './progress'
import { detectionsSvgRoute } from './detections-svg-route'
import { featureDetectionsName, type Detection } from './feature-detections-task'
import type { Env } from './env'

export { FeatureDetectionsJob } from './feature-detections-job'

const app = createTaskApp<{ Bindings: Env & DecodeSettings }>('mly-detection-geometry')

// For the jobs Worker: 0 of 1 until a job has the answer (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

app.get('/v1/images/:imageId/detections', validate('param', z.object({ imageId })), async (c) => {
  const { imageId: id } = c.req.valid('param')
  const client = clientForRequest(c.env, c.req.header('authorization'))
  // A client's token may see what the server's may not: what it fetched is cached for it alone.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const defer = (p: Promise<unknown>) => c.executionCtx.waitUntil(p)
  const detectionsKey = await cacheKey('img-detections', { id, identity: identityPart(identity) })
  // While the upstream fails: the detections kept past their day, the size kept a month, no URL.
  const staleIfError = { seconds: STALE_IF_ERROR.detections, when: isUpstreamTrouble }
  const [image, detections] = await Promise.all([
    imageMetaOrKeptSize(c.env.CACHE, client, identity, id, defer),
    cached(c.env.CACHE, detectionsKey, TTL.detections, async () => (await client.get<{ data: Detection[] }>(`/${id}/detections`, { fields: 'id,value,geometry' })).data, { defer, staleIfError }),
  ])
  const { width, height } = image.meta
  const { maxPoints } = decodeLimits(c.env)
  const stale = image.stale || detections.stale ? { ageSeconds: Math.max(image.stale?.ageSeconds ?? 0, detections.stale?.ageSeconds ?? 0) } : undefined
  return answer(
    { image: image.meta, detections: detections.value.map((d) => withPixels(d, width, height, { maxPoints })) },
    { maxAge: 300, hit: client.stats.requests === 0, upstreamRequests: client.stats.requests, stale },
  )
})

app.get('/v1/map-features/:mapFeatureId/detections', validate('param', z.object({ mapFeatureId })), async (c) => {
  const { mapFeatureId: id } = c.req.valid('param')
  const auth = requireToken(c.req.header('authorization'), c.env.MAPILLARY_ACCESS_TOKEN)
  // A client's token may see what the server's may not: its runs (and the KV pieces they read) are its own.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  // A batch of images' metadata per unit, in budgeted slices: however many images, no invocation goes past its budget.
  // RPC's Serializable mapping cannot follow Problem's open members: the shape is JobAnswer.
  const result = await callObject(
    () => c.env.FEATURE_DETECTIONS_JOB.getByName(featureDetectionsName(id, identity)),
    (stub) => stub.run({ map_feature_id: id }, auth.source === 'client' ? auth.token : undefined) as unknown as Promise<JobAnswer>,
  )
  if (!result.ok) throw new ProblemError(result.problem, result.headers)
  // Made from KV's pieces alone: a hit, as before.
  return answerJson(result.body, { maxAge: 300, hit: result.requests === 0, upstreamRequests: result.requests })
})

// The body is counted as it is read (413 past MAX_DECODE_BODY_BYTES), the answer bounded by MAX_DECODE_POINTS.
app.post('/v1/decode', bodyWithin((c) => decodeLimits(c.env).maxBodyBytes), validate('json', decodeBody), (c) => {
  const { geometry, width, height } = c.req.valid('json')
  const { maxPoints } = decodeLimits(c.env)
  const decoded = pixelGeometry(geometry, width, height, { maxPoints })
  if (!decoded.ok) fail(decoded.failure.reason, decoded.failure.detail, decoded.failure.reason === 'too_many_points' ? { limit: maxPoints } : undefined)
  return c.json({ pixel_geometry: decoded.geometry })
})

// The same detections drawn as an SVG (asks the route above of this app).
detectionsSvgRoute(app)

export default app
