/**
 * @module
 * The streamed answer of `GET /v1/map-features` (`format=geojsonseq`, or `Accept:
 * application/geo+json-seq`): RFC 8142 records, one per feature, the plain answer's Feature texts.
 * From KV when it holds the plain answer, else from the sweep object as its cells complete
 * (stream-features.ts). Problems known before the first byte are the usual problem+json answers.
 */
import { readFresh, TTL } from '../../../shared/cache/kv-cache'
import { callObject } from '../../../shared/fanout/call-object'
import { GEOJSON_SEQ } from '../../../shared/http/task-params'
import { ProblemError } from '../../../shared/problem/problem'
import { requireToken } from '../../../shared/upstream/request-client'
import type { UpstreamIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import { recordStream, type StreamAnswer } from './stream-features'
import { collectionFeatures } from './stream-records'
import { sweepName, type SweepParams } from './sweep-params'

/** One box question as the Worker normalised it: its params, its caller's identity and its KV key. */
export interface BoxQuestion {
  params: SweepParams
  identity: UpstreamIdentity
  key: string
}

/**
 * The streamed answer: 200 `application/geo+json-seq` (`X-Cache: hit` from KV, `miss` from the
 * sweep), or a thrown ProblemError before any byte.
 * @example return streamBox(env, c.req.header('authorization'), question, maxBoxRequests(env))
 */
export async function streamBox(env: Env, authorization: string | undefined, q: BoxQuestion, maxRequests: number): Promise<Response> {
  const kept = await readFresh(env.CACHE, q.key, TTL.mapFeaturesBbox)
  const features = kept ? collectionFeatures(kept.text) : null
  if (features) return streamed(recordStream(features), 'hit')
  const auth = requireToken(authorization, env.MAPILLARY_ACCESS_TOKEN)
  // The caller's own token goes to the object's memory only; the server's is read there from env.
  // RPC's Serializable mapping cannot follow Problem's open members: the shape is StreamAnswer.
  const answer = await callObject(
    () => env.MAP_FEATURES_SWEEP.getByName(sweepName(q.params, q.identity)),
    (stub) => stub.streamFeatures(q.params, auth.source === 'client' ? auth.token : undefined, { maxRequests }) as unknown as Promise<StreamAnswer>,
  )
  if (!answer.ok) throw new ProblemError(answer.problem, answer.headers ?? {})
  return streamed(answer.stream, 'miss')
}

function streamed(body: ReadableStream<Uint8Array>, cache: 'hit' | 'miss'): Response {
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': GEOJSON_SEQ,
      // Whole or cut short: a stream that ended in an error must not be kept by anyone.
      'cache-control': 'no-store',
      'x-cache': cache,
      // What a sweep will cost is not known when its first byte goes: said on a hit only.
      ...(cache === 'hit' ? { 'x-upstream-requests': '0' } : {}),
      vary: 'Accept',
    },
  })
}
