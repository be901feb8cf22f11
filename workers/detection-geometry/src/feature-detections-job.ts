/**
 * @module
 * FeatureDetectionsJob: the Durable Object of one map feature's detections question (the feature
 * id and the caller's upstream identity). A thin adapter: the job engine (`shared/engine`) runs
 * {@link featureDetectionsTask} here in slices of at most `SUBREQUEST_BUDGET` upstream attempts and
 * 6 connections, and splits a feature seen in many images across part objects of this same class
 * (`<name>#k/K`), each with its own budget and connections.
 */
import { DurableObject } from 'cloudflare:workers'
import { TTL } from '../../../shared/cache/kv-cache'
import { invalidQuestion, JobRunner, type JobAnswer, type JobProgress, type PartAnswer, type PartStub } from '../../../shared/engine/job-runner'
import { shardSettings } from '../../../shared/fanout/shards'
import { batchIdsSetting } from '../../../shared/upstream/batch-read'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import { DEFAULT_GRAPH_URL, subrequestBudget } from '../../../shared/upstream/request-client'
import type { Env } from './env'
import { decodeLimits, type DecodeSettings } from './decode-limits'
import { featureDetectionsName, featureDetectionsTask, kvOpsSetting, validFeatureDetectionsParams, type FeatureDetectionsParams, type FeatureDetectionsUnit } from './feature-detections-task'

const INVALID = 'The map-feature detections parameters are not valid.'

/**
 * The answer is made from KV's pieces (detections a day, each image's metadata with its thumbnail
 * URL 300 s, read in bulk), as the image route's is: the object hands it to the calls waiting for it and keeps it
 * for no later one, which makes it again from those pieces (no upstream request while they live).
 */
const RESULT_TTL_MS = 0
/** Tables (and the URLs in them) are emptied this long after the job ended. */
const RETAIN_MS = TTL.withThumbUrls * 1000

/** What the Worker asks: the feature (the object adds the caller's identity). */
export interface FeatureDetectionsQuestion {
  map_feature_id: string
}

export class FeatureDetectionsJob extends DurableObject<Env> {
  readonly runner: JobRunner<FeatureDetectionsParams, FeatureDetectionsUnit>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.runner = new JobRunner({ ctx, settings: env, part: (name) => env.FEATURE_DETECTIONS_JOB.getByName(name) as unknown as PartStub }, featureDetectionsTask(env.CACHE, decodeLimits(env as Env & DecodeSettings).maxPoints, { batch: batchIdsSetting(env), baseUrl: env.MAPILLARY_GRAPH_URL || DEFAULT_GRAPH_URL, kvOps: kvOpsSetting(env as Env & { KV_OPS_PER_SLICE?: string }, subrequestBudget(env)), defer: (p) => ctx.waitUntil(p) }), {
      shards: shardSettings(env),
      resultTtlMs: RESULT_TTL_MS,
      retainMs: RETAIN_MS,
    })
  }

  /** The whole answer (the public body as JSON text) for the feature, or the problem why not. */
  async run(input: FeatureDetectionsQuestion, clientToken?: string): Promise<JobAnswer> {
    const params = await this.#params(input, clientToken)
    if (!params) return invalidQuestion(INVALID)
    return this.runner.run(featureDetectionsName(params.map_feature_id, params.identity), params, clientToken)
  }

  /** One part of a split question: its units' results, for the question's object to join. */
  async runPart(name: string, input: FeatureDetectionsQuestion, units: string[], clientToken?: string): Promise<PartAnswer> {
    const params = await this.#params(input, clientToken)
    if (!params) return invalidQuestion(INVALID)
    return this.runner.runPart(name, params, units, clientToken, { of: featureDetectionsName(params.map_feature_id, params.identity) })
  }

  progress(): Promise<JobProgress> {
    return this.runner.progress()
  }

  override alarm(): Promise<void> {
    return this.runner.alarm()
  }

  /** The feature and the identity of `clientToken` (never one a caller names), or null. */
  async #params(input: FeatureDetectionsQuestion, clientToken: string | undefined): Promise<FeatureDetectionsParams | null> {
    return validFeatureDetectionsParams({ map_feature_id: input?.map_feature_id, identity: await upstreamIdentity(clientToken, this.env) })
  }
}

