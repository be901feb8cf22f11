/**
 * @module
 * mly-feature-images: the images in which a map feature is visible, with their JPEG URLs.
 *
 * The answer comes from the KV cache when it can; otherwise from the FeatureImagesJob Durable
 * Object of the question, which reads the feature and then its images over as many budgeted
 * invocations as the feature needs (one invocation may make only SUBREQUEST_BUDGET upstream calls).
 */
import { answerJson } from '../../../shared/http/answer'
import { ProblemError } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { mapFeaturePath } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { cacheKey, cachedText, TTL } from '../../../shared/cache/kv-cache'
import { callObject } from '../../../shared/fanout/call-object'
import type { JobAnswer } from '../../../shared/engine/job-runner'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { DEFAULT_GRAPH_URL, requireToken } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { featureImagesName, type FeatureImagesParams } from './feature-images-task'
import { progressRoutes } from './progress'

export { FeatureImagesJob } from './feature-images-job'

const app = createTaskApp<{ Bindings: Env }>('mly-feature-images')

// For the jobs Worker: how far this question's job has got (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

// For the gateway's /readyz (never forwarded; the gateway remembers the outcome for a while, so
// this runs at most once per READY_CHECK_SECONDS per gateway isolate): one cheap upstream search
// with the server's token, a box at 0°,0° in the ocean (no features, one request, no retry).
const READY_PROBE_PATH = '/map_features?bbox=0,0,0.0001,0.0001&fields=id&limit=1'
app.get('/internal/readyz', async (c) => {
  const token = c.env.MAPILLARY_ACCESS_TOKEN?.trim()
  if (!token) return c.json({ ready: false, reason: 'no server token configured' })
  const base = (c.env.MAPILLARY_GRAPH_URL || DEFAULT_GRAPH_URL).replace(/\/+$/, '')
  try {
    const res = await fetch(base + READY_PROBE_PATH, { headers: { authorization: `OAuth ${token}` }, signal: AbortSignal.timeout(5000) })
    await res.body?.cancel()
    if (res.ok) return c.json({ ready: true, upstream_status: res.status })
    const reason = res.status === 401 || res.status === 403 ? 'upstream rejects the server token' : res.status === 429 ? 'upstream rate limit reached' : 'upstream answers with an error'
    return c.json({ ready: false, reason, upstream_status: res.status })
  } catch (err) {
    return c.json({ ready: false, reason: err instanceof Error && err.name === 'TimeoutError' ? 'upstream did not answer within 5 s' : 'upstream unreachable' })
  }
})

app.get('/v1/map-features/:mapFeatureId/images', validate('param', mapFeaturePath), async (c) => {
  const { mapFeatureId: id } = c.req.valid('param')
  // A client's token may see what the server's may not: its answers and runs are its own.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const key = await cacheKey('mf-images', { id, identity: identityPart(identity) })
  const params: FeatureImagesParams = { map_feature_id: id }
  let requests: number | undefined
  // Short TTL: the answer carries thumbnail URLs, which expire upstream.
  const { text, hit } = await cachedText(
    c.env.CACHE,
    key,
    TTL.withThumbUrls,
    async () => {
      const auth = requireToken(c.req.header('authorization'), c.env.MAPILLARY_ACCESS_TOKEN)
      // RPC's Serializable mapping cannot follow Problem's open members: the shape is JobAnswer.
      const result = await callObject(
        () => c.env.FEATURE_IMAGES_JOB.getByName(featureImagesName(params, identity)),
        (stub) => stub.run(params, auth.source === 'client' ? auth.token : undefined) as unknown as Promise<JobAnswer>,
      )
      if (!result.ok) throw new ProblemError(result.problem, result.headers)
      requests = result.requests
      return result.body
    },
    { defer: (p) => c.executionCtx.waitUntil(p) },
  )
  return answerJson(text, { maxAge: 300, hit, upstreamRequests: requests })
})

export default app
