/**
 * @module
 * `GET /internal/progress/v1/map-features/{map_feature_id}/images`: for the jobs Worker, which
 * polls it while a job waits for the synchronous route. A feature's images are a few requests with
 * no fan-out object to ask, so this answers 0 of 1 (the job reports 1 of 1 once it has the
 * answer); it validates like the public route and starts nothing. The gateway never forwards
 * `/internal`.
 */
import { Hono } from 'hono'
import { mapFeaturePath } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import type { Env } from './env'

export const progressRoutes = new Hono<{ Bindings: Env }>()

progressRoutes.get('/v1/map-features/:mapFeatureId/images', validate('param', mapFeaturePath), (c) => c.json({ done: 0, total: 1 }, 200, { 'cache-control': 'no-store' }))
