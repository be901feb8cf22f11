/**
 * @module
 * SequenceSweep: the Durable Object of one sequence question (sequence id, sorted fields, pixels,
 * and the caller's upstream identity when it brings its own token). A thin adapter: the job engine
 * (`shared/engine`) runs {@link sequenceTask} here, in budgeted slices, and splits a long sequence
 * across part objects of this same class (`<name>#k/K`), each with its own budget and connections.
 * The task reads KV too (upstream traits, kept image sizes: {@link sequenceTaskHost}).
 */
import { DurableObject } from 'cloudflare:workers'
import { invalidQuestion, JobRunner, type JobAnswer, type JobProgress, type PartAnswer, type PartStub } from '../../../shared/engine/job-runner'
import { shardSettings } from '../../../shared/fanout/shards'
import { upstreamIdentity, type UpstreamIdentity } from '../../../shared/upstream/identity'
import type { Env } from './env'
import { isSweepParams, sweepName, type SweepParams } from './params'
import { sequenceTask, type SequenceUnit } from './sequence-task'
import { sequenceTaskHost } from './task-host'

const INVALID = 'The sweep parameters are not valid.'

/** How long a finished or failed job is kept and answered from storage (KV holds answers for a day). */
const RETAIN_MS = 60 * 60 * 1000

export class SequenceSweep extends DurableObject<Env> {
  readonly runner: JobRunner<SweepParams, SequenceUnit>
  /**
   * The upstream identity of the question this object serves (its name holds it), set by each call.
   * An alarm finds it unset only after an eviction, when a client's job waits for its caller anyway.
   */
  #identity: UpstreamIdentity = 'server'

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    const task = sequenceTask(sequenceTaskHost(env, { identity: () => this.#identity, defer: (p) => ctx.waitUntil(p) }))
    this.runner = new JobRunner({ ctx, settings: env, part: (name) => env.SEQUENCE_SWEEP.getByName(name) as unknown as PartStub }, task, {
      shards: shardSettings(env),
      retainMs: RETAIN_MS,
      resultTtlMs: RETAIN_MS,
    })
  }

  /** The whole answer (the public body as JSON text) for `params`, or the problem why not. */
  async run(params: SweepParams, clientToken?: string): Promise<JobAnswer> {
    if (!isSweepParams(params)) return invalidQuestion(INVALID)
    return this.runner.run(await this.#name(params, clientToken), params, clientToken)
  }

  /** One part of a split question: its images' results, for the question's object to join. */
  async runPart(name: string, params: SweepParams, units: string[], clientToken?: string): Promise<PartAnswer> {
    if (!isSweepParams(params)) return invalidQuestion(INVALID)
    return this.runner.runPart(name, params, units, clientToken, { of: await this.#name(params, clientToken) })
  }

  progress(): Promise<JobProgress> {
    return this.runner.progress()
  }

  override alarm(): Promise<void> {
    return this.runner.alarm()
  }

  async #name(params: SweepParams, clientToken: string | undefined): Promise<string> {
    this.#identity = await upstreamIdentity(clientToken, this.env)
    return sweepName(params, this.#identity)
  }
}
