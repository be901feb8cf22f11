/**
 * @module
 * FeatureImagesJob: the Durable Object of one feature-images question (the feature id, and the
 * caller's upstream identity when it brings its own token). A thin adapter: the job engine
 * (`shared/engine`) runs {@link featureImagesTask} here (its images in batches of `BATCH_IDS`) in
 * slices of at most `SUBREQUEST_BUDGET` upstream attempts and 6 connections, and splits a feature
 * seen in many batches across part objects of this same class (`<name>#k/K`), each with its own
 * budget and connections.
 */
import { DurableObject } from 'cloudflare:workers'
import { TTL } from '../../../shared/cache/kv-cache'
import { invalidQuestion, JobRunner, type JobAnswer, type JobProgress, type PartAnswer, type PartStub } from '../../../shared/engine/job-runner'
import { shardSettings } from '../../../shared/fanout/shards'
import { batchIdsSetting } from '../../../shared/upstream/batch-read'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import { DEFAULT_GRAPH_URL } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { featureImagesName, featureImagesTask, validFeatureImagesParams, type FeatureImagesParams, type FeatureImagesUnit } from './feature-images-task'

const INVALID = 'The feature-images parameters are not valid.'

/**
 * A finished answer is handed out from storage this long after the job ended, then the next
 * question runs afresh. Thumbnail URLs expire upstream, so an answer (its KV copy lives
 * `TTL.withThumbUrls`, 300 s, from when the Worker stores it) must not come out of storage old: a
 * minute covers callers that arrive as the job ends and KV's propagation, and no more.
 */
export const RESULT_TTL_MS = Math.min(60_000, TTL.withThumbUrls * 1000)
/** Tables (and the URLs in them) are emptied this long after the job ended; progress reads them until then. */
const RETAIN_MS = TTL.withThumbUrls * 1000

export class FeatureImagesJob extends DurableObject<Env> {
  readonly runner: JobRunner<FeatureImagesParams, FeatureImagesUnit>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.runner = new JobRunner({ ctx, settings: env, part: (name) => env.FEATURE_IMAGES_JOB.getByName(name) as unknown as PartStub }, featureImagesTask({ batch: batchIdsSetting(env), kv: env.CACHE, baseUrl: env.MAPILLARY_GRAPH_URL || DEFAULT_GRAPH_URL }), {
      shards: shardSettings(env),
      resultTtlMs: RESULT_TTL_MS,
      retainMs: RETAIN_MS,
    })
  }

  /** The whole answer (the public body as JSON text) for `params`, or the problem why not. */
  async run(input: FeatureImagesParams, clientToken?: string): Promise<JobAnswer> {
    const params = validFeatureImagesParams(input)
    if (!params) return invalidQuestion(INVALID)
    return this.runner.run(await this.#name(params, clientToken), params, clientToken)
  }

  /** One part of a split question: its units' results, for the question's object to join. */
  async runPart(name: string, input: FeatureImagesParams, units: string[], clientToken?: string): Promise<PartAnswer> {
    const params = validFeatureImagesParams(input)
    if (!params) return invalidQuestion(INVALID)
    return this.runner.runPart(name, params, units, clientToken, { of: await this.#name(params, clientToken) })
  }

  progress(): Promise<JobProgress> {
    return this.runner.progress()
  }

  override alarm(): Promise<void> {
    return this.runner.alarm()
  }

  async #name(params: FeatureImagesParams, clientToken: string | undefined): Promise<string> {
    return featureImagesName(params, await upstreamIdentity(clientToken, this.env))
  }
}
