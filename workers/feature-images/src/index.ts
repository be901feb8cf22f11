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
import { requireToken } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { featureImagesName, type FeatureImagesParams } from './feature-images-task'
import { progressRoutes } from './progress'

export { FeatureImagesJob } from './feature-images-job'

const app = createTaskApp<{ Bindings: Env }>('mly-feature-images')

// For the jobs Worker: how far this question's job has got (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

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
