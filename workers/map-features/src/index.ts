/**
 * @module
 * mly-map-features: every map feature in a bounding box, past the upstream's 2000-per-request cap.
 */
import { z } from 'zod'
import { answer } from '../../../shared/http/answer'
import { fail } from '../../../shared/http/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { bboxParam, fieldsParam, objectValuesParam, validate } from '../../../shared/http/validation'
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import { clientForRequest, subrequestBudget } from '../../../shared/upstream/request-client'
import { bboxArea, sweepBbox, SweepBudgetError, type Bbox } from '../../../shared/tiling'
import { toFeatureCollection, type UpstreamMapFeature } from './feature-collection'
import type { Env } from './env'

const EXTRA_FIELDS = ['object_type', 'first_seen_at', 'last_seen_at', 'aligned_direction'] as const
// A city district is ~0.0004 deg²; this allows a whole city while bounding the fan-out.
const DEFAULT_MAX_BBOX_AREA = 0.05

const query = z.object({
  bbox: bboxParam,
  object_values: objectValuesParam.optional(),
  fields: fieldsParam(EXTRA_FIELDS, []),
})

const app = createTaskApp<{ Bindings: Env }>('mly-map-features')

app.get('/v1/map-features', validate('query', query), async (c) => {
  const { bbox, object_values, fields } = c.req.valid('query')
  const maxArea = Number(c.env.MAX_BBOX_AREA) > 0 ? Number(c.env.MAX_BBOX_AREA) : DEFAULT_MAX_BBOX_AREA
  const area = bboxArea(bbox as Bbox)
  if (area > maxArea) {
    fail('bbox_too_large', `The box covers ${area.toPrecision(3)} square degrees; the limit is ${maxArea}. Split it into smaller boxes.`, { limit_square_degrees: maxArea })
  }
  const objectValues = object_values?.join(',')
  const key = await cacheKey('mf-bbox', { bbox: bbox.join(','), object_values: objectValues, fields: fields.join(',') })
  let requests = 0
  const { value, hit } = await cached(
    c.env.CACHE,
    key,
    TTL.mapFeaturesBbox,
    async () => {
      const client = clientForRequest(c.env, c.req.header('authorization'))
      const upstreamFields = ['id', 'object_value', 'geometry', ...fields].join(',')
      try {
        const sweep = await sweepBbox<UpstreamMapFeature>(
          bbox as Bbox,
          async (cell) => {
            const res = await client.get<{ data: UpstreamMapFeature[] }>('/map_features', {
              bbox: cell.join(','),
              fields: upstreamFields,
              object_values: objectValues,
              limit: '2000',
            })
            return res.data
          },
          { maxRequests: subrequestBudget(c.env) },
        )
        requests = sweep.requests
        if (sweep.saturated.length > 0) {
          fail('incomplete_result', `${sweep.saturated.length} cell(s) still hold 2000 or more features at the finest zoom; the answer would be cut, so none is given.`, {
            saturated_cells: sweep.saturated.map((s) => s.bbox),
          })
        }
        return toFeatureCollection(sweep.features, fields)
      } catch (e) {
        if (e instanceof SweepBudgetError) {
          fail('subrequest_budget_exceeded', `This box needs more than ${subrequestBudget(c.env)} upstream requests; try a smaller box.`)
        }
        throw e
      }
    },
    { defer: (p) => c.executionCtx.waitUntil(p) },
  )
  return answer(value, { maxAge: 300, hit, upstreamRequests: requests, contentType: 'application/geo+json' })
})

export default app
