/**
 * @module
 * mly-map-features: every map feature in a bounding box, past the upstream's 2000-per-request cap.
 * The sweep itself runs in a {@link MapFeaturesSweep} Durable Object, in slices that each stay
 * within one invocation's subrequest budget; the finished answer is cached in KV.
 */
import { z } from 'zod'
import { answerJson } from '../../../shared/http/answer'
import { fail, ProblemError } from '../../../shared/http/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { bboxParam, fieldsParam, objectValuesParam, validate } from '../../../shared/http/validation'
import { cacheKey, cachedText, TTL } from '../../../shared/cache/kv-cache'
import { callObject } from '../../../shared/fanout/call-object'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { requireToken } from '../../../shared/upstream/request-client'
import { bboxArea, type Bbox } from '../../../shared/tiling'
import { sweepName, type SweepAnswer, type SweepParams } from './map-features-sweep'
import type { Env } from './env'

export { MapFeaturesSweep } from './map-features-sweep'

// Not exported: with a Durable Object class among its exports, workerd accepts only handlers and
// classes as named exports of the main module.
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
  // Order does not change the answer: sorted, one question has one key and one sweep object.
  const objectValues = object_values ? [...object_values].sort() : undefined
  const sortedFields = [...fields].sort()
  const params: SweepParams = { bbox: bbox as Bbox, fields: sortedFields, ...(objectValues ? { objectValues } : {}) }
  // A client's token may see what the server's may not: its answers and runs are its own.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const key = await cacheKey('mf-bbox', { bbox: bbox.join(','), object_values: objectValues?.join(','), fields: sortedFields.join(','), identity: identityPart(identity) })
  let requests = 0
  const { text, hit } = await cachedText(
    c.env.CACHE,
    key,
    TTL.mapFeaturesBbox,
    async () => {
      const auth = requireToken(c.req.header('authorization'), c.env.MAPILLARY_ACCESS_TOKEN)
      // The caller's own token goes to the object's memory only; the server's is read there from env.
      // RPC's Serializable mapping cannot follow Problem's open members: the shape is SweepAnswer.
      const result = await callObject(
        () => c.env.MAP_FEATURES_SWEEP.getByName(sweepName(params, identity)),
        (stub) => stub.run(params, auth.source === 'client' ? auth.token : undefined) as unknown as Promise<SweepAnswer>,
      )
      requests = result.requests
      if (!result.ok) throw new ProblemError(result.problem, result.headers ?? {})
      return result.body
    },
    { defer: (p) => c.executionCtx.waitUntil(p) },
  )
  return answerJson(text, { maxAge: 300, hit, upstreamRequests: requests, contentType: 'application/geo+json' })
})

export default app
