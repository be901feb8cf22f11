/**
 * @module
 * `GET /internal/progress/v1/map-features?…`: how far the sweep of this question has got, as
 * `{"done", "total"}` cells (a split adds its children to the total), for the jobs Worker, which
 * polls it while a job waits for the synchronous route. The gateway never forwards `/internal`.
 * Validates like the public route (a bad box is its 400 or 422 here too), reads the sweep object's
 * counts and starts nothing.
 */
import { Hono } from 'hono'
import { mapFeaturesQuery } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { requestIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import { sweepName } from './sweep-params'
import { sweepParams } from './question'

export const progressRoutes = new Hono<{ Bindings: Env }>()

progressRoutes.get('/v1/map-features', validate('query', mapFeaturesQuery), async (c) => {
  const params = sweepParams(c.req.valid('query'), c.env)
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const p = await c.env.MAP_FEATURES_SWEEP.getByName(sweepName(params, identity)).progress()
  return c.json({ done: p.done, total: p.total }, 200, { 'cache-control': 'no-store' })
})
