/**
 * @module
 * `GET /internal/progress/v1/map-features/{map_feature_id}/images`: how far the job of this
 * question has got, as `{"done", "total"}` units (the feature and each batch of its images, a
 * batch split when the upstream takes fewer ids counting as done and adding its parts; total 0
 * until the feature is read), for the jobs Worker, which polls it while a job waits for the
 * synchronous route. The gateway never forwards `/internal`. Validates like the public route,
 * reads the object's counts (its parts' summed when split) and starts nothing. A finished job
 * whose answer is no longer handed out counts as nothing done: the next question runs afresh.
 */
import { Hono } from 'hono'
import { mapFeaturePath } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { requestIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import { RESULT_TTL_MS } from './feature-images-job'
import { featureImagesName } from './feature-images-task'

export const progressRoutes = new Hono<{ Bindings: Env }>()

progressRoutes.get('/v1/map-features/:mapFeatureId/images', validate('param', mapFeaturePath), async (c) => {
  const { mapFeatureId } = c.req.valid('param')
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const p = await c.env.FEATURE_IMAGES_JOB.getByName(featureImagesName({ map_feature_id: mapFeatureId }, identity)).progress()
  const stale = p.state !== 'running' && p.updatedAt !== null && Date.now() - p.updatedAt > RESULT_TTL_MS
  return c.json(stale ? { done: 0, total: 0 } : { done: p.done, total: p.total }, 200, { 'cache-control': 'no-store' })
})
