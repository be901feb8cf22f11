/**
 * @module
 * mly-sequence-detections: the image ids of a sequence, then every image's detections.
 *
 * The answer comes from the KV cache when it can; otherwise from the SequenceSweep Durable Object
 * of the question, which fans the upstream requests out over as many budgeted invocations as the
 * sequence needs (one invocation may make only SUBREQUEST_BUDGET upstream calls): batches of
 * BATCH_IDS images when the upstream expands `detections.<field>`, else one request per image
 * (src/sequence-task.ts).
 */
import { answerJson } from '../../../shared/http/answer'
import { ProblemError } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { sequenceDetectionsPath, sequenceDetectionsQuery } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { cacheKey, cachedText, STALE_IF_ERROR, TTL } from '../../../shared/cache/kv-cache'
import { isUpstreamTrouble } from '../../../shared/http/upstream-trouble'
import { callObject } from '../../../shared/fanout/call-object'
import { identityPart, requestIdentity } from '../../../shared/upstream/identity'
import { requireToken } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { normalizeParams, sweepName } from './params'
import { progressRoutes } from './progress'
import type { JobAnswer } from '../../../shared/engine/job-runner'

export { SequenceSweep } from './sequence-sweep'

const app = createTaskApp<{ Bindings: Env }>('mly-sequence-detections')

// For the jobs Worker: how far this question's sweep has got (never forwarded by the gateway).
app.route('/internal/progress', progressRoutes)

app.get('/v1/sequences/:sequenceId/detections', validate('param', sequenceDetectionsPath), validate('query', sequenceDetectionsQuery), async (c) => {
  const { sequenceId: sequence_id } = c.req.valid('param')
  const { fields, pixels } = c.req.valid('query')
  const sweep = normalizeParams({ sequence_id, fields, pixels })
  // A client's token may see what the server's may not: its answers and runs are its own.
  const identity = await requestIdentity(c.req.header('authorization'), c.env)
  const key = await cacheKey('seq-detections', { sequence_id, fields: sweep.fields.join(','), pixels, identity: identityPart(identity) })
  let requests: number | undefined
  const { text, hit, stale } = await cachedText(
    c.env.CACHE,
    key,
    TTL.detections,
    async () => {
      const auth = requireToken(c.req.header('authorization'), c.env.MAPILLARY_ACCESS_TOKEN)
      // RPC's Serializable mapping cannot follow Problem's open members: the shape is JobAnswer.
      const result = await callObject(
        () => c.env.SEQUENCE_SWEEP.getByName(sweepName(sweep, identity)),
        (stub) => stub.run(sweep, auth.source === 'client' ? auth.token : undefined) as unknown as Promise<JobAnswer>,
      )
      if (!result.ok) throw new ProblemError(result.problem, result.headers)
      requests = result.requests
      return result.body
    },
    // No URL in the answer: while the upstream fails, a copy kept past the TTL answers (X-Cache: stale, Age).
    { defer: (p) => c.executionCtx.waitUntil(p), staleIfError: { seconds: STALE_IF_ERROR.detections, when: isUpstreamTrouble } },
  )
  return answerJson(text, { maxAge: 3600, hit, upstreamRequests: requests, stale })
})

export default app
