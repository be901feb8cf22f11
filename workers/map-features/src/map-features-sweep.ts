/**
 * @module
 * MapFeaturesSweep: the Durable Object of one box question ({@link sweepName}). A thin adapter: the
 * job engine (`shared/engine`) runs {@link boxTask} here in budgeted slices, and identical
 * questions meet here and share the work. The same class serves as a part of a box split across
 * objects (`runPart`) and as a helper that runs a few cells of a round for it (`runUnits`).
 */
import { DurableObject } from 'cloudflare:workers'
import { STALE_IF_ERROR, storeText, TTL } from '../../../shared/cache/kv-cache'
import { sentBody } from '../../../shared/http/sent-body'
import { versionTag } from '../../../shared/http/version-tag'
import { JobRunner, type EngineOptions, type HelperAnswer, type HelperStub, type JobAnswer, type JobProgress, type PartAnswer, type PartStub } from '../../../shared/engine/job-runner'
import { shardSettings } from '../../../shared/fanout/shards'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import type { Cell } from '../../../shared/tiling'
import { boxHelpers, CELLS_PER_HELPER, maxBoxRequests, maxCellSpanDeg, maxJobBoxRequests } from './box-limits'
import { boxTask } from './box-task'
import type { Env } from './env'
import { sweepName, type SweepParams } from './sweep-params'
import { streamFeatures, type StreamAnswer } from './stream-features'

export { sweepName, type SweepParams } from './sweep-params'

/** A finished answer is served this long (as long as its KV copy), then the box is swept again. */
const RESULT_TTL_MS = TTL.mapFeaturesBbox * 1000

/**
 * The engine's settings for a box sweep, from the Worker's.
 * @example new JobRunner(host, task, sweepEngineOptions(env))
 */
export function sweepEngineOptions(env: Env): Partial<EngineOptions> {
  const helpers = boxHelpers(env)
  return {
    shards: shardSettings(env),
    // A round's cells past this object's 6 connections go to helper objects, 6 each.
    ...(helpers > 0 ? { helpers: { max: helpers, unitsPerHelper: CELLS_PER_HELPER } } : {}),
    // A cell that fails after the client's retries fails the question at once, and a slice the
    // budget ended with nothing done reports what the upstream kept answering.
    maxUnitTries: 1,
    maxStalls: 1,
    attemptsPerRequest: 5,
    maxRetryAfterInSliceSeconds: 30,
    resultTtlMs: RESULT_TTL_MS,
    // Tables are emptied 10 minutes after the answer stopped being served.
    retainMs: RESULT_TTL_MS + 10 * 60_000,
    // A waiting call answers 503 "still running" (Retry-After) after 5 minutes; the work goes on.
    maxWaitMs: 5 * 60_000,
  }
}

/** {@link MapFeaturesSweep.runBody}'s answer: the body as a stream, its tag and cost; or the problem. */
export type BodyAnswer = { ok: true; body: ReadableStream<Uint8Array>; etag?: string; requests: number } | Extract<JobAnswer, { ok: false }>

export class MapFeaturesSweep extends DurableObject<Env> {
  readonly runner: JobRunner<SweepParams, Cell>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    const host = {
      ctx,
      settings: env,
      part: (name: string) => env.MAP_FEATURES_SWEEP.getByName(name) as unknown as PartStub,
      helper: (name: string) => env.MAP_FEATURES_SWEEP.getByName(name) as unknown as HelperStub,
    }
    this.runner = new JobRunner(host, boxTask({ maxCellSpanDeg: maxCellSpanDeg(env), jobLimit: maxJobBoxRequests(env) }), sweepEngineOptions(env))
  }

  /**
   * Every map feature of `params` as a FeatureCollection (JSON text), or the problem why not. The
   * sweep makes at most `maxRequests` upstream requests (default `MAX_BOX_REQUESTS`, see
   * box-limits.ts): a plan needing more is refused before any request, a sweep whose splits would
   * need more ends there; both answer 422 `box_too_costly`, and a larger bound goes on from there.
   */
  async run(params: SweepParams, clientToken?: string, opts: { maxRequests?: number } = {}): Promise<JobAnswer & { etag?: string }> {
    const answer = await this.runner.run(await this.#name(params, clientToken), params, clientToken, { maxRequests: opts.maxRequests ?? maxBoxRequests(this.env) })
    const job = this.runner.store.job()
    // A finished sweep's answer is joined from what it stored: the same bytes until it is swept again.
    return answer.ok && job?.finishedAt !== undefined ? { ...answer, etag: await versionTag(job.name, job.finishedAt) } : answer
  }

  /**
   * {@link run}, the answer streamed: its bytes flow to the Worker and on to the caller as they
   * are sent, not copied whole first; once sent, the answer is stored in KV under `cacheKey` (the
   * Worker's key of this question), where copying it would have competed with sending it.
   */
  async runBody(params: SweepParams, clientToken?: string, opts: { maxRequests?: number; cacheKey?: string } = {}): Promise<BodyAnswer> {
    const answer = await this.run(params, clientToken, opts)
    if (!answer.ok) return answer
    const { body, sent } = sentBody(answer.body)
    const key = opts.cacheKey
    if (key !== undefined) this.ctx.waitUntil(sent.then(() => storeText(this.env.CACHE, key, answer.body, TTL.mapFeaturesBbox, { staleSeconds: STALE_IF_ERROR.mapFeaturesBbox, ...(answer.etag !== undefined ? { etag: answer.etag } : {}) })))
    return { ok: true, body, requests: answer.requests, ...(answer.etag !== undefined ? { etag: answer.etag } : {}) }
  }

  /** The box's features as RFC 8142 records while its cells complete, or the problem before any byte (stream-features.ts). */
  async streamFeatures(params: SweepParams, clientToken?: string, opts: { maxRequests?: number } = {}): Promise<StreamAnswer> {
    return streamFeatures({ ctx: this.ctx, runner: this.runner }, await this.#name(params, clientToken), params, clientToken, { maxRequests: opts.maxRequests ?? maxBoxRequests(this.env) })
  }

  /** One part of a box split across objects (a box planned into many cells). */
  async runPart(name: string, params: SweepParams, units: string[], clientToken?: string, opts: { maxRequests?: number } = {}): Promise<PartAnswer> {
    const maxRequests = opts?.maxRequests
    return this.runner.runPart(name, params, units, clientToken, { ...(maxRequests !== undefined ? { maxRequests } : {}), of: await this.#name(params, clientToken) })
  }

  /**
   * A few cells of a sweep's round, run here for the sweep object (or part) that named this helper:
   * their outcomes, stored by the caller, and this call's upstream counts.
   */
  async runUnits(name: string, params: SweepParams, units: string[], clientToken?: string, opts: { budget?: number } = {}): Promise<HelperAnswer> {
    const budget = opts?.budget
    return this.runner.runUnits(name, params, units, clientToken, { ...(budget !== undefined ? { budget } : {}), of: await this.#name(params, clientToken) })
  }

  progress(): Promise<JobProgress> {
    return this.runner.progress()
  }

  override alarm(): Promise<void> {
    return this.runner.alarm()
  }

  async #name(params: SweepParams, clientToken: string | undefined): Promise<string> {
    // The Worker normalised the params (sweepParams in question.ts): the name is theirs as they are.
    return sweepName(params, await upstreamIdentity(clientToken, this.env))
  }
}
