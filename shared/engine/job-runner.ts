/**
 * @module
 * The durable job engine: one Durable Object's worth of fan-out, whatever the task.
 *
 * A job object is named by its normalised question (and the caller's upstream identity), so
 * identical questions meet in one object and share its work. `run()` plans (the task's `plan`),
 * stores the units and works through them in slices: at most `SUBREQUEST_BUDGET` upstream attempts
 * (retries included) and 6 in flight each, the first in the calling invocation, the next ones in
 * alarms (an alarm is armed behind the inline slice as a watchdog). Each unit's outcome is one
 * transaction, so an evicted object resumes where it stopped, losing nothing and doing nothing
 * twice. Waiting callers get the whole answer (the task's `answer`) or a problem, never a part.
 *
 * Roles: `whole` runs every unit itself. A job with many units is a `coordinator`: it splits its
 * units across `part` objects (one per contiguous run of units, each with its own budget and 6
 * connections), waits for them and joins their results in order.
 *
 * Helpers (`EngineOptions.helpers`): a slice with more ready units than its own connections hands
 * the overflow to helper objects, a few units each, so a round of many units takes about one
 * round trip. A helper only runs its units and answers their outcomes as plain data; the slice
 * stores them (a helper keeps nothing), counts its upstream attempts against the job's bound and
 * each helper call against its own invocation's budget.
 */
import { problem, type Problem } from '../problem/problem'
import { partition, shardCount, type ShardSettings } from '../fanout/shards'
import { pump } from '../fanout/pump'
import { callObject } from '../fanout/call-object'
import type { GraphClient } from '../upstream/client'
import { UpstreamError, type UpstreamReason } from '../upstream/errors'
import { noTokenProblem, sliceClient, subrequestBudget, tokenLostProblem, type UpstreamSettings } from '../upstream/request-client'
import { upstreamProblem } from '../upstream/to-problem'
import { JobStore, type JobRole, type JobRow, type SliceCounts, type SliceRow, type StoredUnit } from './job-store'
import type { Failure, Task, UnitOutcome, UnitResult } from './task'

export type JobAnswer =
  /** `body`: the answer's JSON text (a multi-megabyte answer is not parsed and written again). */
  | { ok: true; body: string; requests: number }
  | { ok: false; problem: Problem; headers?: Record<string, string>; requests: number }

/** What a part gives its coordinator: every finished unit of its own, its JSON and its result. */
export type PartAnswer =
  | { ok: true; results: Array<{ unit: string; result: string }>; units: number; requests: number }
  | { ok: false; problem: Problem; headers?: Record<string, string>; requests: number }

export interface JobProgress {
  state: JobRow['state'] | 'empty'
  role: JobRole | 'empty'
  shards: number
  /** Units finished (a split unit counts: its children replace it). */
  done: number
  /** Units known so far (a split adds its children). */
  total: number
  pending: number
  failed: number
  /** Upstream fetch attempts, retries included. */
  requests: number
  retries: number
  startedAt: number | null
  updatedAt: number | null
  slices: SliceRow[]
}

/**
 * The part objects of a coordinator, reached by name. A Durable Object stub's RPC types cannot
 * follow a Problem's open members: adapters cast their stub to this.
 */
export interface PartStub {
  runPart(name: string, params: unknown, units: string[], clientToken?: string, opts?: RunOptions): Promise<PartAnswer>
  progress(): Promise<JobProgress>
}

/** A helper's upstream failure of one unit, as plain data (a Durable Object's RPC carries no class). */
export interface HelperError {
  reason: UpstreamReason
  message: string
  status?: number
  retryAfterSeconds?: number
  graphCode?: number
  attempts?: number
  paced?: boolean
}

/**
 * One unit's outcome in a helper: its result text, its children (unit JSON texts), its upstream
 * failure, an error of ours (`unexpected`), or not run (`skipped`: the helper's budget ended, or
 * an earlier failure stopped it).
 */
export type HelperUnitOutcome = { result: string } | { children: string[] } | { error: HelperError } | { unexpected: true } | { skipped: true }

/** What a helper answers: one outcome per unit it was given, in order, and its upstream counts. */
export type HelperAnswer = { ok: true; outcomes: HelperUnitOutcome[]; counts: SliceCounts } | { ok: false; problem: Problem; requests: number }

/** A helper object, reached by name ({@link helperName}); adapters cast their stub to this. */
export interface HelperStub {
  runUnits(name: string, params: unknown, units: string[], clientToken?: string, opts?: { budget?: number }): Promise<HelperAnswer>
}

/**
 * The helper object `k` (from 0) of the job (or part) `name`: one call at a time each.
 * @example helperName('mf-sweep:v1:{…}', 3) // 'mf-sweep:v1:{…}~h3'
 */
export function helperName(name: string, k: number): string {
  return `${name}~h${k}`
}

/** Units one helper call may carry at most, whatever a caller sends. */
export const MAX_HELPER_UNITS = 64

/** A helper of the job `of` or of one of its parts. */
const HELPER_SUFFIX = /^(#\d+\/\d+)?~h\d+$/

export interface EngineOptions {
  /** Connections one invocation may hold (Workers: 6 fetches awaiting headers). */
  maxInFlight: number
  /** Attempts per upstream request inside a slice (the client's retries). */
  attemptsPerRequest: number
  /** Slices in which one unit may fail transiently before the job fails. */
  maxUnitTries: number
  /** Slices in a row that finish no unit before the job gives up. */
  maxStalls: number
  /** Slices in a row cut short by an error of ours before the job gives up. */
  maxErrors: number
  /** A finished job answers from storage this long, then a new question runs afresh (as long as its KV copy lives). */
  resultTtlMs: number
  /** Tables are emptied this long after the job ended (at least `resultTtlMs`). */
  retainMs: number
  /** When a slice runs in a caller's invocation, the alarm that resumes the work if it is cut off. */
  watchdogMs: number
  /** How often a waiting call re-reads storage (the finishing slice normally wakes it at once). */
  pollMs: number
  /** A waiting call answers "still running" (503, Retry-After) after this; default: waits to the end. */
  maxWaitMs?: number
  /** Longest Retry-After a slice waits for inside its invocation; a longer one delays the next alarm. */
  maxRetryAfterInSliceSeconds: number
  maxAlarmDelayMs: number
  /** Split jobs with many units across part objects; absent: never. */
  shards?: ShardSettings
  /**
   * Hand the units a slice's own connections cannot take to helper objects (`EngineHost.helper`):
   * at most `max` helper calls at once, at most `unitsPerHelper` units each. Absent (or `max` 0): never.
   */
  helpers?: { max: number; unitsPerHelper: number }
}

export const ENGINE_DEFAULTS: EngineOptions = {
  maxInFlight: 6,
  attemptsPerRequest: 3,
  maxUnitTries: 3,
  maxStalls: 3,
  maxErrors: 3,
  resultTtlMs: 3600_000,
  retainMs: 3600_000,
  watchdogMs: 5_000,
  pollMs: 1_000,
  maxRetryAfterInSliceSeconds: 5,
  maxAlarmDelayMs: 60_000,
}

/** Upstream failures that may pass: the unit is tried again in a later slice. */
/** A helper's budget: each of its units' requests once, and as many again for retries. */
const HELPER_RETRY_SHARE = 2

const NO_COUNTS: SliceCounts = { requests: 0, attempts: 0, retries: 0, inFlightPeak: 0 }

const TRANSIENT: ReadonlySet<UpstreamReason> = new Set(['rate_limited', 'unavailable', 'timeout', 'dropped', 'bad_response'])

/**
 * The part `k` (from 0) of a job split across `of` parts.
 * @example partName('seq:kx7r2u|id|px0', 1, 4) // 'seq:kx7r2u|id|px0#2/4'
 */
export function partName(name: string, k: number, of: number): string {
  return `${name}#${k + 1}/${of}`
}

/**
 * The answer, whole or a part's, to a call whose question is not valid (a Durable Object's RPC
 * takes whatever a caller sends): refused without touching the job.
 * @example if (!params) return invalidQuestion('The sweep parameters are not valid.')
 */
export function invalidQuestion(detail: string): { ok: false; problem: Problem; requests: number } {
  return { ok: false, problem: problem('invalid_parameter', detail), requests: 0 }
}

/** What one call asks of a job beyond its question. */
export interface RunOptions {
  /**
   * Most upstream requests (retries included) the job may cost: a plan needing more is refused
   * before any request, a split that would need more ends the job (the task's `overLimit`
   * problem). A job stopped so goes on from where it stopped when asked again with a larger one.
   */
  maxRequests?: number
}

/** The Durable Object side a runner needs: its state, its settings and, to shard, its parts. */
export interface EngineHost {
  ctx: DurableObjectState
  settings: UpstreamSettings
  part?: (name: string) => PartStub
  /** The helper objects of a job, by name ({@link helperName}); with `EngineOptions.helpers`. */
  helper?: (name: string) => HelperStub
}

export class JobRunner<P, U> {
  #store: JobStore | undefined
  readonly #host: EngineHost
  readonly #task: Task<P, U>
  readonly #o: EngineOptions
  /** A caller's own token for the running job: memory only (never storage, a key or a log). */
  #clientToken: string | undefined
  #work: Promise<JobAnswer> | null = null
  #planning: Promise<(Failure & { requests: number }) | null> | null = null
  /** The question `#planning` plans: until its job is stored, only that question may join it. */
  #planningFor: { name: string; params: string } | undefined
  #slicing = false
  readonly #waiters = new Set<() => void>()
  /** The quota governor refused the last slice's permits: until when, and what a waiting caller is told. */
  #paced: { until: number; e: UpstreamError; source: 'server' | 'client' } | undefined

  constructor(host: EngineHost, task: Task<P, U>, options: Partial<EngineOptions> = {}) {
    this.#host = host
    this.#task = task
    this.#o = { ...ENGINE_DEFAULTS, ...options }
  }

  /** The job's tables, made when first used: a helper object (`runUnits`) never makes them, so it keeps nothing. */
  get store(): JobStore {
    return (this.#store ??= new JobStore(this.#host.ctx.storage))
  }

  /** The whole answer of the job `name` for `params`: stored when done, else planned, run (or joined) and awaited. */
  async run(name: string, params: P, clientToken?: string, opts: RunOptions = {}): Promise<JobAnswer> {
    const text = JSON.stringify(params)
    if (!this.#claim(name, text, undefined)) return this.#busy()
    const job = this.store.job()
    if (job?.state === 'done' && job.role === 'whole') return this.#answer()
    return (this.#work ??= this.#drive(name, params, text, clientToken, opts).finally(() => (this.#work = null)))
  }

  /** One part of a coordinator's job: `units` (unit JSON texts) run here like a whole job; answers their results. */
  async runPart(name: string, params: P, units: string[], clientToken?: string, opts: RunOptions & { of?: string } = {}): Promise<PartAnswer> {
    // A part of question `of` only (a Durable Object's RPC takes whatever a caller sends).
    const asked = typeof name === 'string' && (opts.of === undefined || name.startsWith(`${opts.of}#`)) && Array.isArray(units) && units.length > 0 && units.every((u) => typeof u === 'string')
    if (!asked) return invalidQuestion('The part’s name or units are not valid.')
    const text = JSON.stringify(params)
    if (!this.#claim(name, text, units)) return this.#busy()
    if (this.store.job()?.state !== 'done') await (this.#work ??= this.#drive(name, params, text, clientToken, opts, units).finally(() => (this.#work = null)))
    const job = this.store.job()
    const requests = this.store.spent().requests
    if (!job) return { ok: false, problem: problem('internal_error', 'A part of the job lost its plan.'), requests }
    if (job.state === 'failed') return { ok: false, problem: job.problem ?? problem('internal_error', 'A part of the job failed.'), ...(job.headers ? { headers: job.headers } : {}), requests }
    if (job.state !== 'done') return this.#stillRunning(requests)
    return { ok: true, results: this.store.results(), units: units.length, requests }
  }

  /**
   * A helper's work: runs `units` (unit JSON texts) of the job `of` with this object's own
   * connections and at most `budget` upstream attempts, and answers each unit's outcome and the
   * counts. Keeps nothing: the calling slice stores the outcomes. `name` must be a helper's of
   * `of` ({@link helperName}; a Durable Object's RPC takes whatever a caller sends).
   */
  async runUnits(name: string, params: P, units: string[], clientToken?: string, opts: { of?: string; budget?: number } = {}): Promise<HelperAnswer> {
    const named = typeof name === 'string' && (opts.of === undefined ? /~h\d+$/.test(name) : name.startsWith(opts.of) && HELPER_SUFFIX.test(name.slice(opts.of.length)))
    const budgetOk = opts.budget === undefined || (Number.isInteger(opts.budget) && opts.budget > 0)
    let parsed: U[] | undefined
    if (named && budgetOk && Array.isArray(units) && units.length > 0 && units.length <= MAX_HELPER_UNITS && units.every((u) => typeof u === 'string')) {
      try {
        parsed = units.map((u) => JSON.parse(u) as U)
      } catch {
        parsed = undefined
      }
    }
    if (!parsed) return invalidQuestion('The helper’s name, units or budget are not valid.')
    const perUnit = Math.max(1, this.#task.requestsPerUnit?.(params) ?? 1)
    const budget = Math.min(subrequestBudget(this.#host.settings), opts.budget ?? Infinity)
    const outcomes: HelperUnitOutcome[] = parsed.map(() => ({ skipped: true }))
    // Its units' permits in one governor call: asked 1, 2, 4… a helper's fetches went out in waves.
    const need = Math.min(budget, parsed.length * perUnit)
    const client = sliceClient(
      this.#host.settings,
      clientToken,
      {
        maxInFlight: this.#o.maxInFlight,
        maxAttempts: Math.max(1, Math.min(this.#o.attemptsPerRequest, Math.floor(budget / perUnit))),
        maxRetryAfterSeconds: this.#o.maxRetryAfterInSliceSeconds,
        subrequestBudget: budget,
      },
      { search: need, entity: need },
    )
    if (!client) return { ok: false, problem: noTokenProblem(), requests: 0 }
    // After a failure other than the budget's end, nothing more starts (as in the calling slice).
    let stopped = false
    await pump({
      queue: parsed.map((_, i) => i),
      maxActive: Math.max(1, Math.floor(this.#o.maxInFlight / perUnit)),
      fits: (starting) => !stopped && client.stats.attempts + (starting + 1) * perUnit <= budget,
      run: async (i) => {
        try {
          const outcome = await this.#task.runUnit(parsed[i]!, params, client)
          outcomes[i] = outcome.children ? { children: outcome.children.map((c) => JSON.stringify(c)) } : { result: outcome.result ?? '' }
        } catch (e) {
          if (e instanceof UpstreamError) {
            outcomes[i] = { error: plainError(e) }
            if (e.reason !== 'budget_exhausted') stopped = true
          } else {
            console.error('job engine: a helper’s unit failed', e instanceof Error ? e.name : typeof e)
            outcomes[i] = { unexpected: true }
            stopped = true
          }
        }
      },
    })
    return { ok: true, outcomes, counts: countsOf(client) }
  }

  /**
   * Plans the job if it has none yet, without running it: the next `run()` or alarm does. Answers
   * the progress, or the failure that stopped planning.
   */
  async prepare(name: string, params: P, clientToken?: string, opts: RunOptions = {}): Promise<({ ok: true } & { progress: JobProgress }) | ({ ok: false } & Failure)> {
    const text = JSON.stringify(params)
    if (!this.#claim(name, text, undefined)) return { ok: false, problem: this.#busy().problem }
    if (!this.store.job()) {
      this.#clientToken = clientToken
      const failed = await (this.#planning ??= this.#plan(name, params, text, opts).finally(() => (this.#planning = null)))
      if (failed) return { ok: false, problem: failed.problem, ...(failed.headers ? { headers: failed.headers } : {}) }
    }
    return { ok: true, progress: await this.progress() }
  }

  /**
   * Whether this object may serve the job: it is empty (or planning the same job), holds the same
   * job, or holds another one (or an expired answer) that is not running and can be forgotten now.
   */
  #claim(name: string, params: string, units: string[] | undefined): boolean {
    const job = this.store.job()
    if (!job) return !this.#planning || (this.#planningFor?.name === name && this.#planningFor.params === params)
    const expired = job.state !== 'running' && job.finishedAt !== undefined && Date.now() - job.finishedAt > this.#o.resultTtlMs
    const otherUnits = units !== undefined && !sameList(this.store.units(), units)
    if (job.name === name && job.params === params && !expired && !otherUnits) return true
    if (this.#work || this.#slicing) return false
    this.store.clear()
    return true
  }

  async #drive(name: string, params: P, text: string, clientToken: string | undefined, opts: RunOptions, units?: string[]): Promise<JobAnswer> {
    let job = this.store.job()
    let spent = 0
    if (!job) {
      this.#clientToken = clientToken
      const failed = await (this.#planning ??= this.#plan(name, params, text, opts, units).finally(() => (this.#planning = null)))
      if (failed) return { ok: false, problem: failed.problem, ...(failed.headers ? { headers: failed.headers } : {}), requests: failed.requests }
      job = this.store.job()
      if (!job) return { ok: false, problem: problem('internal_error', 'The job lost its plan.'), requests: 0 }
      spent = this.store.spent().requests
    }
    // Stopped by its bound: asked again under no larger one, the same answer and no request.
    if (job.state === 'failed' && job.overLimit && (opts.maxRequests ?? Infinity) <= (job.maxRequests ?? Infinity)) return this.#answer()
    if (job.role === 'coordinator') {
      if (job.state === 'failed') this.store.retry(Date.now(), opts.maxRequests)
      return this.#gather(this.store.job() ?? job, params, clientToken)
    }
    if (job.state === 'done') return this.#answer()
    if (job.state === 'failed') {
      this.#clientToken = clientToken
      this.store.retry(Date.now(), opts.maxRequests)
    } else if (!this.#clientToken && clientToken && !this.#slicing) {
      // Running after an eviction lost the starter's token: this caller's own (same identity) pays from now on.
      this.#clientToken = clientToken
    }
    if (!this.#slicing) {
      // This call has made at most its planning requests: the next slice runs right here with what
      // is left of the budget, one alarm hop sooner; the alarm behind it takes over if it is cut off.
      await this.#host.ctx.storage.setAlarm(Date.now() + this.#o.watchdogMs)
      void this.#guarded(() => this.#slice(spent))
    }
    await this.#settled()
    return this.#answer()
  }

  /** Plans and stores the job; answers the failure that stopped planning (stored as the job's), or null. */
  async #plan(name: string, params: P, text: string, opts: RunOptions, given?: string[]): Promise<(Failure & { requests: number }) | null> {
    this.#planningFor = { name, params: text }
    const now = Date.now()
    const client = this.#clientToken !== undefined
    const maxRequests = opts.maxRequests
    if (given) {
      this.store.start({ name, role: 'part', params: text, client, ...(maxRequests !== undefined ? { maxRequests } : {}) }, given.map((u) => [this.#task.unitKey(JSON.parse(u) as U), u] as const), now)
      return null
    }
    const upstream = this.#client()
    let planned
    if (!upstream) planned = { ok: false as const, problem: noTokenProblem() }
    else {
      try {
        planned = await this.#task.plan(params, upstream)
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e
        planned = { ok: false as const, ...this.#failureOf(e, undefined, upstream.tokenSource) }
      }
    }
    const counts = upstream ? countsOf(upstream) : undefined
    // Nothing is stored for a plan that failed: the next call plans again.
    if (!planned.ok) return { problem: planned.problem, ...(planned.headers ? { headers: planned.headers } : {}), requests: counts?.attempts ?? 0 }
    // Every unit costs at least one request: a plan over the bound is refused before any of them.
    const asked = counts?.attempts ?? 0
    if (maxRequests !== undefined && asked + planned.units.length > maxRequests) {
      return { ...this.#overLimit(maxRequests, asked + planned.units.length, asked), requests: asked }
    }
    const shards = this.#o.shards && this.#host.part ? shardCount(planned.units.length, this.#o.shards) : 1
    const rows = planned.units.map((u) => [this.#task.unitKey(u), JSON.stringify(u)] as const)
    this.store.start({ name, role: shards > 1 ? 'coordinator' : 'whole', params: text, shards, client, ...(maxRequests !== undefined ? { maxRequests } : {}) }, rows, now, counts && counts.attempts > 0 ? counts : undefined)
    // A coordinator runs no slice; its alarm only forgets the plan if its parts never finish.
    if (shards > 1) await this.#host.ctx.storage.setAlarm(Date.now() + this.#o.retainMs)
    return null
  }

  /** A coordinator's job: every part run (or joined, or answered from storage) at once, joined in order. */
  async #gather(job: JobRow, params: P, clientToken: string | undefined): Promise<JobAnswer> {
    const part = this.#host.part!
    const parts = partition(this.store.units(), job.shards)
    const answers = await Promise.all(
      parts.map(async (units, k): Promise<PartAnswer> => {
        const name = partName(job.name, k, parts.length)
        try {
          // RPC's Serializable mapping cannot follow Problem's open members: the shape is PartAnswer.
          return await callObject(() => part(name), (stub) => stub.runPart(name, params, units, clientToken, job.maxRequests !== undefined ? { maxRequests: job.maxRequests } : {}))
        } catch (e) {
          console.error('job engine: a part failed', e instanceof Error ? e.name : typeof e)
          return { ok: false, problem: problem('internal_error', 'A part of the job failed on our side; ask again to resume.'), requests: 0 }
        }
      }),
    )
    let requests = this.store.spent().requests
    for (const a of answers) requests += a.requests
    const failed = answers.find((a) => !a.ok)
    if (failed && !failed.ok) return this.#end('failed', { problem: failed.problem, headers: failed.headers ?? {} }, requests)
    // Whole or not at all: every part must answer for exactly the units it was given.
    const short = answers.findIndex((a, k) => a.ok && a.units !== parts[k]!.length)
    if (short >= 0) return this.#end('failed', { problem: problem('internal_error', `Part ${short + 1} of the job answered for other units; ask again to resume.`) }, requests)
    const results = answers.flatMap((a) => (a.ok ? a.results : []))
    const out = this.#task.answer(params, results.map((r) => ({ unit: JSON.parse(r.unit) as U, result: r.result })))
    if (!out.ok) return this.#end('done', undefined, requests, { ok: false, problem: out.problem, ...(out.headers ? { headers: out.headers } : {}), requests })
    return this.#end('done', undefined, requests, { ok: true, body: out.body, requests })
  }

  async #end(state: 'done' | 'failed', failure: Failure | undefined, requests: number, answer?: JobAnswer): Promise<JobAnswer> {
    this.store.finish(state, Date.now(), failure)
    await this.#host.ctx.storage.setAlarm(Date.now() + this.#o.retainMs)
    this.#wake()
    return answer ?? { ok: false, problem: failure!.problem, ...(failure!.headers ? { headers: failure!.headers } : {}), requests }
  }

  /** The job's numbers; a coordinator's are its parts' summed. */
  async progress(): Promise<JobProgress> {
    const job = this.store.job()
    const c = this.store.counts()
    const spent = this.store.spent()
    const own: JobProgress = {
      state: job?.state ?? 'empty',
      role: job?.role ?? 'empty',
      shards: job?.shards ?? 1,
      done: c.done + c.split,
      total: c.pending + c.done + c.split + c.failed,
      pending: c.pending,
      failed: c.failed,
      requests: spent.requests,
      retries: spent.retries,
      startedAt: job?.createdAt ?? null,
      updatedAt: job?.updatedAt ?? null,
      slices: this.store.slices(),
    }
    if (!job || job.role !== 'coordinator' || !this.#host.part) return own
    const parts = await Promise.all(Array.from({ length: job.shards }, (_, k) => this.#host.part!(partName(job.name, k, job.shards)).progress()))
    const sum = (key: 'done' | 'failed' | 'requests' | 'retries') => parts.reduce((a, p) => a + p[key], 0)
    // Before a part has planned, its units count as pending here.
    const total = Math.max(own.total, parts.reduce((a, p) => a + p.total, 0))
    return {
      ...own,
      done: sum('done'),
      failed: sum('failed'),
      total,
      pending: total - sum('done') - sum('failed'),
      requests: own.requests + sum('requests'),
      retries: own.retries + sum('retries'),
      updatedAt: Math.max(own.updatedAt ?? 0, ...parts.map((p) => p.updatedAt ?? 0)) || null,
      slices: [...own.slices, ...parts.flatMap((p) => p.slices)],
    }
  }

  /** One slice per alarm, or retention; never throws (a throwing alarm is retried blindly). */
  async alarm(): Promise<void> {
    await this.#guarded(async () => {
      if (this.#slicing) return
      const job = this.store.job()
      if (!job) return
      const now = Date.now()
      if (job.state === 'running' && job.role === 'coordinator') {
        // Its parts run the slices. This alarm only forgets a plan nobody came back for.
        const end = job.createdAt + this.#o.retainMs
        if (this.#work || now < end) await this.#host.ctx.storage.setAlarm(Math.max(end, now + this.#o.pollMs))
        else this.store.clear()
        return
      }
      if (job.state === 'running') return this.#slice(0)
      const end = (job.finishedAt ?? 0) + this.#o.retainMs
      if (now >= end) {
        this.store.clear()
        await this.#host.ctx.storage.deleteAlarm()
      } else {
        await this.#host.ctx.storage.setAlarm(end)
      }
    })
  }

  async #guarded(f: () => Promise<void>): Promise<void> {
    try {
      await f()
    } catch (e) {
      await this.#unexpected(e)
    }
  }

  /** One invocation's share of the units: ≤ budget attempts (less `spent` already), ≤ 6 in flight. */
  async #slice(spent: number): Promise<void> {
    if (this.#slicing) return
    const job = this.store.job()
    if (!job || job.state !== 'running' || job.role === 'coordinator') return
    this.#slicing = true
    try {
      await this.#runSlice(job, spent)
    } finally {
      this.#slicing = false
    }
  }

  async #runSlice(job: JobRow, spent: number): Promise<void> {
    const params = JSON.parse(job.params) as P
    const perUnit = Math.max(1, this.#task.requestsPerUnit?.(params) ?? 1)
    const full = subrequestBudget(this.#host.settings)
    if (full < perUnit) {
      return this.#fail({ problem: problem('subrequest_budget_exceeded', `SUBREQUEST_BUDGET (${full}) is below the ${perUnit} requests one unit needs.`) })
    }
    // A client's job never goes on with the server's token: after a restart it waits for its caller's.
    if (job.client && this.#clientToken === undefined) return this.#fail({ problem: tokenLostProblem() })
    const limit = job.maxRequests
    const asked = this.store.spent().requests
    const room = limit === undefined ? Infinity : limit - asked
    if (room < perUnit) return this.#fail(this.#overLimit(limit!, asked + this.store.counts().pending, asked), true)
    const left = full - spent
    const helpers = this.#o.helpers && this.#host.helper && this.#o.helpers.max > 0 && this.#o.helpers.unitsPerHelper > 0 ? this.#o.helpers : undefined
    // Each helper call is one subrequest of this invocation: at least half of what is left of its
    // budget is kept for them when the slice's own attempts are decided.
    const kept = helpers ? Math.max(0, Math.min(Math.ceil(left / 2), left - perUnit)) : 0
    const slots = Math.max(1, Math.floor(this.#o.maxInFlight / perUnit))
    // Of the job's bound, the slice's own share is what its connections are of all (its own and
    // the helpers'): a bound it would otherwise spend alone leaves the helpers nothing.
    const share = helpers && kept > 0 ? Math.max(perUnit, Math.ceil((room * slots) / (slots + helpers.max * helpers.unitsPerHelper))) : room
    const budget = Math.min(left - kept, share)
    // Helper calls get all the slice's own attempts leave: a round's cells come in groups smaller
    // than a helper takes, and a slice out of calls leaves ready cells to the next one (a city
    // took two slices with half of what its first could make).
    const calls = helpers ? left - budget : 0
    if (budget < perUnit) {
      // The calling invocation spent its budget on planning: the alarm runs the first slice.
      await this.#host.ctx.storage.setAlarm(Date.now())
      return
    }
    // What the bound leaves beyond the slice's own budget is the helpers': their attempts count against it too.
    const pool = room - budget
    const client = this.#client({ maxAttempts: Math.max(1, Math.min(this.#o.attemptsPerRequest, Math.floor(budget / perUnit))), maxRetryAfterSeconds: this.#o.maxRetryAfterInSliceSeconds, subrequestBudget: budget })
    if (!client) return this.#fail({ problem: noTokenProblem() })
    const queue = this.store.pending()
    if (queue.length === 0) return this.#finish()
    const before = this.store.spent().requests
    const slice = this.store.beginSlice('run', budget, Date.now())
    const counts = () => countsOf(client)
    let done = 0
    let retryAfter = 0
    let failure: { e: UpstreamError; unit: StoredUnit } | undefined
    let unexpected: unknown
    let overLimit: Failure | undefined
    let paced: UpstreamError | undefined
    /** Units started and not yet recorded, here or in a helper. */
    let running = 0
    /** Helper calls made; their attempts (as answered, or their whole budget when no answer came); the budgets of those still out; the helper numbers free. */
    const away = { calls: 0, attempts: 0, reserved: 0, free: Array.from({ length: helpers?.max ?? 0 }, (_, k) => k) }
    const stopped = () => failure !== undefined || overLimit !== undefined || paced !== undefined || unexpected !== undefined

    /** A unit's result or children, stored in the slice row `row` with its counts `c` (this slice's, or a helper's). */
    const record = (unit: StoredUnit, outcome: UnitOutcome<U>, row: number, c: SliceCounts): void => {
      const children = outcome.children?.map((u) => [this.#task.unitKey(u), JSON.stringify(u)] as const)
      if (children && limit !== undefined) {
        // Every unit costs at least one request: a split past the bound ends the job before it spends them.
        const spentNow = before + client.stats.attempts + away.attempts
        const needed = spentNow + children.length + (this.store.counts().pending - running)
        if (needed > limit) {
          overLimit ??= this.#overLimit(limit, needed, spentNow)
          return
        }
      }
      queue.push(...this.store.complete(row, unit, children ? { children } : { result: outcome.result ?? '' }, c))
      done++
    }
    /** A unit that threw, here or in a helper: the same tries, pauses and failures either way. */
    const failed = (unit: StoredUnit, e: unknown, row: number, c: SliceCounts): void => {
      if (!(e instanceof UpstreamError)) {
        unexpected ??= e
        return
      }
      // Out of budget: the unit stays pending for the next slice, with a fresh budget.
      if (e.reason === 'budget_exhausted') return
      // The quota governor sent nothing: no try spent, the unit waits out the pause in a later slice.
      if (e.paced) {
        paced ??= e
        retryAfter = Math.max(retryAfter, e.retryAfterSeconds ?? 1)
        return
      }
      const last = !TRANSIENT.has(e.reason) || unit.tries + 1 >= this.#o.maxUnitTries
      this.store.unitFailed(unit, last, row, c)
      if (e.retryAfterSeconds !== undefined) retryAfter = Math.max(retryAfter, e.retryAfterSeconds)
      if (last) failure ??= { e, unit }
    }

    /** Up to `unitsPerHelper` units in one helper object; its outcomes are stored here as they would be for a local run. */
    const ask = async (units: StoredUnit[]): Promise<void> => {
      // Reserved before the first await, so the next group's size already sees it.
      const b = Math.min(full, units.length * perUnit * HELPER_RETRY_SHARE, pool - away.attempts - away.reserved)
      const k = away.free.shift()!
      away.calls++
      away.reserved += b
      running += units.length
      const name = helperName(job.name, k)
      // Each helper call gets a slice row of its own: its attempts, within its budget, in its own invocation.
      const row = this.store.beginSlice('run', b, Date.now())
      let answer: HelperAnswer | undefined
      try {
        // RPC's Serializable mapping cannot follow Problem's open members: the shape is HelperAnswer.
        answer = await this.#host.helper!(name).runUnits(name, params, units.map((u) => u.unit), this.#clientToken, { budget: b })
      } catch (e) {
        // Its units stay pending: the next slice runs them (a unit is stored once, whoever runs it).
        console.error('job engine: a helper failed', e instanceof Error ? e.name : typeof e)
      }
      away.free.push(k)
      away.free.sort((x, y) => x - y)
      away.reserved -= b
      const outcomes = answer?.ok && Array.isArray(answer.outcomes) && answer.outcomes.length === units.length && validCounts(answer.counts) ? answer.outcomes : undefined
      // A refusal says what it spent; no answer (or one that is not a helper's): what it spent is
      // unknown, so its whole budget counts, stored too, and the bound is never passed.
      const refused = answer && !answer.ok && Number.isInteger(answer.requests) && answer.requests >= 0 ? answer.requests : undefined
      const c = outcomes && answer?.ok ? answer.counts : { ...NO_COUNTS, attempts: refused ?? b }
      away.attempts += c.attempts
      try {
        units.forEach((unit, i) => {
          const o = outcomes?.[i]
          try {
            if (!o || 'skipped' in o) return
            if ('result' in o) record(unit, { result: String(o.result) }, row, c)
            else if ('children' in o) record(unit, { children: o.children.map((j) => JSON.parse(j) as U) }, row, c)
            else if ('error' in o) failed(unit, upstreamErrorOf(o.error, client.tokenSource), row, c)
            else unexpected ??= new Error('A unit failed in a helper.')
          } catch (e) {
            failed(unit, e, row, c)
          } finally {
            running--
          }
        })
      } finally {
        this.store.endSlice(row, c, Date.now())
      }
    }

    await pump({
      queue,
      maxActive: slots,
      fits: (starting) => !stopped() && client.stats.attempts + (starting + 1) * perUnit <= budget,
      run: async (unit) => {
        running++
        try {
          const outcome = await this.#task.runUnit(JSON.parse(unit.unit) as U, params, client)
          record(unit, outcome, slice, counts())
        } catch (e) {
          failed(unit, e, slice, counts())
        } finally {
          running--
        }
      },
      ...(helpers
        ? {
            overflow: {
              maxActive: helpers.max,
              size: () => {
                if (stopped() || away.calls >= calls || away.free.length === 0) return 0
                return Math.min(helpers.unitsPerHelper, Math.floor(Math.min(full, pool - away.attempts - away.reserved) / perUnit))
              },
              run: ask,
            },
          }
        : {}),
    })
    this.store.endSlice(slice, counts(), Date.now())

    if (unexpected !== undefined) throw unexpected
    if (overLimit) return this.#fail(overLimit, true)
    if (failure) return this.#fail(this.#failureOf(failure.e, JSON.parse(failure.unit.unit) as U, client.tokenSource))
    if (this.store.counts().pending === 0) return this.#finish()
    const now = Date.now()
    if (paced) {
      // Waiting callers are told to come back after the pause; the work goes on by the alarm.
      this.#paced = { until: now + retryAfter * 1000, e: paced, source: client.tokenSource }
      this.#wake()
    }
    if (done === 0 && !paced) {
      const stalls = job.stalls + 1
      if (stalls >= this.#o.maxStalls) {
        // The budget kept ending the client's retries: name what the upstream kept answering.
        const last = client.lastFailure
        return this.#fail(last ? this.#failureOf(last, undefined, client.tokenSource) : { problem: problem('subrequest_budget_exceeded', 'The job made no progress within its subrequest budget.') })
      }
      this.store.setCounters(stalls, 0, now)
    } else {
      this.store.setCounters(0, 0, now)
    }
    await this.#host.ctx.storage.setAlarm(now + Math.min(this.#o.maxAlarmDelayMs, retryAfter * 1000))
  }

  #overLimit(limit: number, needed: number, asked: number): Failure {
    return this.#task.overLimit?.({ limit, needed, asked }) ?? { problem: problem('subrequest_budget_exceeded', `This job needs at least ${needed} upstream requests, over its limit of ${limit}.`, { limit }) }
  }

  #failureOf(e: UpstreamError, unit: U | undefined, source: 'server' | 'client'): Failure {
    return this.#task.failure?.(e, unit, source) ?? upstreamProblem(e, source)
  }

  async #finish(): Promise<void> {
    this.store.finish('done', Date.now())
    await this.#ended()
  }

  async #fail(f: Failure, overLimit = false): Promise<void> {
    this.store.finish('failed', Date.now(), f, overLimit)
    await this.#ended()
  }

  async #ended(): Promise<void> {
    // The caller's token served this job only: a later job uses its own caller's, or the server's.
    this.#clientToken = undefined
    await this.#host.ctx.storage.setAlarm(Date.now() + this.#o.retainMs)
    this.#wake()
  }

  /** An error of ours in a slice: try again shortly, give up after a few in a row. */
  async #unexpected(e: unknown): Promise<void> {
    try {
      const job = this.store.job()
      if (!job || job.state !== 'running') return
      const errors = job.errors + 1
      if (errors >= this.#o.maxErrors) {
        console.error('job engine: giving up after errors', e instanceof Error ? e.name : typeof e)
        await this.#fail({ problem: problem('internal_error', 'An unexpected error occurred on our side.') })
        return
      }
      this.store.setCounters(job.stalls, errors, Date.now())
      await this.#host.ctx.storage.setAlarm(Date.now() + 1000 * errors)
    } catch {
      // Storage itself failing: the next request finds the job running and re-arms it.
    }
  }

  /** Resolves when the job is no longer running (woken by the finishing slice, or by polling), or at `maxWaitMs`. */
  async #settled(): Promise<void> {
    const deadline = this.#o.maxWaitMs === undefined ? Infinity : Date.now() + this.#o.maxWaitMs
    for (;;) {
      const job = this.store.job()
      if (!job || job.state !== 'running' || Date.now() > deadline || this.#pacedNow()) return
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, this.#o.pollMs)
        this.#waiters.add(wake)
      })
      // Fallback: a running job with no slice under way and no alarm armed gets one now.
      if (this.store.job()?.state === 'running' && !this.#slicing) {
        if ((await this.#host.ctx.storage.getAlarm()) === null) await this.#host.ctx.storage.setAlarm(Date.now())
      }
    }
  }

  /** Whether the governor's pause of the last slice still holds. */
  #pacedNow(): boolean {
    return this.#paced !== undefined && this.#paced.until > Date.now()
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  #answer(): JobAnswer {
    const job = this.store.job()
    const requests = this.store.spent().requests
    if (!job) return { ok: false, problem: problem('internal_error', 'The job lost its plan.'), requests }
    if (job.state === 'failed') return { ok: false, problem: job.problem ?? problem('internal_error', 'The job failed.'), ...(job.headers ? { headers: job.headers } : {}), requests }
    if (job.state !== 'done') {
      if (this.#pacedNow()) {
        const { e, source } = this.#paced!
        const seconds = Math.max(1, Math.ceil((this.#paced!.until - Date.now()) / 1000))
        const f = upstreamProblem(new UpstreamError(e.reason, e.message, { retryAfterSeconds: seconds, paced: true, tokenSource: source }), source)
        return { ok: false, problem: f.problem, headers: f.headers, requests }
      }
      return this.#stillRunning(requests)
    }
    const results: UnitResult<U>[] = this.store.results().map((r) => ({ unit: JSON.parse(r.unit) as U, result: r.result }))
    const out = this.#task.answer(JSON.parse(job.params) as P, results)
    return out.ok ? { ok: true, body: out.body, requests } : { ok: false, problem: out.problem, ...(out.headers ? { headers: out.headers } : {}), requests }
  }

  #stillRunning(requests: number): { ok: false; problem: Problem; headers: Record<string, string>; requests: number } {
    return { ok: false, problem: problem('upstream_unavailable', 'The job is still running; ask again shortly for the complete answer.', { retry_after: 10 }), headers: { 'retry-after': '10' }, requests }
  }

  #busy(): { ok: false; problem: Problem; requests: number } {
    return { ok: false, problem: problem('internal_error', 'This job object is busy with another question.'), requests: 0 }
  }

  /** The server token, unless the caller of the running job sent its own (memory only). */
  #client(overrides: Parameters<typeof sliceClient>[2] = {}): GraphClient | null {
    return sliceClient(this.#host.settings, this.#clientToken, { maxInFlight: this.#o.maxInFlight, ...overrides })
  }
}

function countsOf(client: GraphClient): SliceCounts {
  return { requests: client.stats.requests, attempts: client.stats.attempts, retries: client.stats.retries, inFlightPeak: client.stats.inFlightPeak }
}

function validCounts(c: unknown): c is SliceCounts {
  const x = c as Partial<Record<keyof SliceCounts, unknown>> | null
  return typeof x === 'object' && x !== null && [x.requests, x.attempts, x.retries, x.inFlightPeak].every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
}

function upstreamErrorOf(e: HelperError, tokenSource: 'server' | 'client'): UpstreamError {
  const { reason, message, status, retryAfterSeconds, graphCode, attempts, paced } = e
  return new UpstreamError(reason, message, { status, retryAfterSeconds, graphCode, attempts, paced, tokenSource })
}

function plainError(e: UpstreamError): HelperError {
  return {
    reason: e.reason,
    message: e.message,
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
    ...(e.graphCode !== undefined ? { graphCode: e.graphCode } : {}),
    ...(e.attempts !== undefined ? { attempts: e.attempts } : {}),
    ...(e.paced ? { paced: true } : {}),
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
