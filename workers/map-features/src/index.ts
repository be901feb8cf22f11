/**
 * @module
 * mly-map-features: every map feature in a bounding box, past the upstream's 2000-per-request cap.
 * The sweep itself runs in a {@link MapFeaturesSweep} Durable Object, in slices that each stay
 * within one invocation's subrequest budget; the finished answer is cached in KV. Asked for
 * `application/geo+json-seq`, the features stream as the cells complete (stream-response.ts).
 */
import type { Context } from 'hono'
import type { z } from 'zod'
import { answerBody, answerJson } from '../../../shared/http/answer'
import { ProblemError } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { answerFormat, mapFeaturesQuery } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { cacheKey, cachedOrProduced, STALE_IF_ERROR, TTL } from '../../../shared/cache/kv-cache'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import { callObject } from '../../../shared/fanout/call-object'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { requireToken } from '../../../shared/upstream/request-client'
import type { BodyAnswer } from './map-features-sweep'
import { sweepName } from './sweep-params'
import { progressRoutes } from './progress'
import { sweepParams } from './question'
import { maxBoxRequests, maxJobBoxRequests } from './box-limits'
import { streamBox, type BoxQuestion } from './stream-response'
import type { Env } from './env'

export { MapFeaturesSweep } from './map-features-sweep'

const app = createTaskApp<{ Bindings: Env }>('mly-map-features')

// For the jobs Worker: how far this question's sweep has got (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

/** The question of a request: normalised params (422 past MAX_BBOX_AREA), the caller's identity, the KV key. */
async function boxQuestion(c: Context<{ Bindings: Env }>, query: z.output<typeof mapFeaturesQuery>): Promise<BoxQuestion> {
  const params = sweepParams(query, c.env)
  const { bbox, objectValues, fields: sortedFields } = params
  // A client's token may see what the server's may not: its answers and runs are its own.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const key = await cacheKey('mf-bbox', { bbox: bbox.join(','), object_values: objectValues?.join(','), fields: sortedFields.join(','), identity: identityPart(identity) })
  return { params, identity, key }
}

/**
 * Every map feature of the box, within `maxRequests` upstream requests: the synchronous route's
 * bound, or the larger one of a job (the jobs Worker calls `/internal/job/…`, never forwarded by
 * the gateway). A sync request and a job for one question share its sweep object and KV entry.
 */
async function answerBox(c: Context<{ Bindings: Env }>, query: z.output<typeof mapFeaturesQuery>, maxRequests: number): Promise<Response> {
  const { params, identity, key } = await boxQuestion(c, query)
  let requests = 0
  const out = await cachedOrProduced(
    c.env.CACHE,
    key,
    TTL.mapFeaturesBbox,
    async () => {
      const auth = requireToken(c.req.header('authorization'), c.env.MAPILLARY_ACCESS_TOKEN)
      // The caller's own token goes to the object's memory only; the server's is read there from env.
      // RPC's Serializable mapping cannot follow Problem's open members: the shape is BodyAnswer.
      // The object streams the answer here and stores it in KV under `key` once it is sent.
      const result = await callObject(
        () => c.env.MAP_FEATURES_SWEEP.getByName(sweepName(params, identity)),
        (stub) => stub.runBody(params, auth.source === 'client' ? auth.token : undefined, { maxRequests, cacheKey: key }) as unknown as Promise<BodyAnswer>,
      )
      requests = result.requests
      if (!result.ok) throw new ProblemError(result.problem, result.headers ?? {})
      return result
    },
    // No URL in the answer: while the upstream fails, a copy kept past the TTL answers (X-Cache: stale, Age).
    { staleIfError: { seconds: STALE_IF_ERROR.mapFeaturesBbox, when: isUpstreamTrouble } },
  )
  const opts = { maxAge: 300, contentType: 'application/geo+json' as const }
  const res = out.hit
    ? answerJson(out.text, { ...opts, hit: true, upstreamRequests: requests, ...(out.stale ? { stale: out.stale } : {}), ...(out.etag !== undefined ? { etag: out.etag } : {}) })
    : answerBody(out.produced.body, { ...opts, hit: false, upstreamRequests: out.produced.requests, ...(out.produced.etag !== undefined ? { etag: out.produced.etag } : {}) })
  // The same URL answers a stream to who asks for one (stream-response.ts).
  res.headers.set('vary', 'Accept')
  return res
}

// format=geojsonseq (or Accept: application/geo+json-seq without format): RFC 8142 records, streamed.
app.get('/v1/map-features', validate('query', mapFeaturesQuery), async (c) => {
  const query = c.req.valid('query')
  if (answerFormat(query.format, c.req.header('accept')) === 'geojsonseq') return streamBox(c.env, c.req.header('authorization'), await boxQuestion(c, query), maxBoxRequests(c.env))
  return answerBox(c, query, maxBoxRequests(c.env))
})
// A job's result is GeoJSON (the jobs Worker refuses format=geojsonseq at submission).
app.get('/internal/job/v1/map-features', validate('query', mapFeaturesQuery), (c) => answerBox(c, c.req.valid('query'), maxJobBoxRequests(c.env)))

export default app
