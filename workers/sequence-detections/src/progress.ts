/**
 * @module
 * `GET /internal/progress/v1/sequences/{sequence_id}/detections?…`: how far the sweep of this
 * question has got, as `{"done", "total"}` units of work (total 0 until the sequence is planned):
 * images when they are read one by one, batches of images (and then the images a batch could not
 * answer) when the upstream expands detections; for the
 * jobs Worker, which polls it while a job waits for the synchronous route. The gateway never
 * forwards `/internal`. Validates like the public route, reads the sweep object's counts (its
 * parts' summed when split) and starts nothing.
 */
import { Hono } from 'hono'
import { sequenceDetectionsPath, sequenceDetectionsQuery } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { requestIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import { normalizeParams, sweepName } from './params'

export const progressRoutes = new Hono<{ Bindings: Env }>()

progressRoutes.get('/v1/sequences/:sequenceId/detections', validate('param', sequenceDetectionsPath), validate('query', sequenceDetectionsQuery), async (c) => {
  const { sequenceId: sequence_id } = c.req.valid('param')
  const { fields, pixels } = c.req.valid('query')
  const sweep = normalizeParams({ sequence_id, fields, pixels })
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const p = await c.env.SEQUENCE_SWEEP.getByName(sweepName(sweep, identity)).progress()
  return c.json({ done: p.done, total: p.total }, 200, { 'cache-control': 'no-store' })
})
