/**
 * @module
 * SequenceSweep: the Durable Object that fans one sequence's detections out over many invocations.
 *
 * One object per question (`sweepName`: sequence id, sorted fields, pixels, and the caller's
 * upstream identity when it brings its own token). `run()` plans (one
 * `/image_ids` call, stored as `images` rows in upstream order), arms an alarm and waits. Each
 * alarm runs one slice: a fresh GraphClient whose `subrequestBudget` is `SUBREQUEST_BUDGET`, ≤ 6
 * requests in flight, each finished image stored with its state change in one transaction, then
 * re-arms until no image is pending. Identical concurrent requests reach the same object and wait
 * for the same work. Storage is the truth: after an eviction the next alarm (or request) resumes
 * from the pending rows.
 *
 * Budget per slice: images start while their first requests fit, so every slice is used to the
 * full; an image whose retries the budget cuts short just stays pending for the next slice (a
 * persistent upstream failure still fails an image within one slice's retries, 3 slices in a row).
 *
 * Shards: one invocation holds only 6 connections, so a long sequence is split into contiguous
 * parts (`MAX_SHARDS`, `MIN_ITEMS_PER_SHARD`), each swept by a child object of its own
 * ({@link shardName}) in its own budgeted slices, in parallel. The object of the question then
 * only plans, calls its parts (`runPart`) and joins their answers in sequence order.
 */
import { DurableObject } from 'cloudflare:workers'
import { problem, type Problem } from '../../../shared/http/problem'
import { withPixels } from '../../../shared/mvt/with-pixels'
import type { GraphClient, GraphClientOptions } from '../../../shared/upstream/client'
import { UpstreamError } from '../../../shared/upstream/errors'
import { callObject } from '../../../shared/fanout/call-object'
import { pump } from '../../../shared/fanout/pump'
import { partition, shardCount, shardSettings } from '../../../shared/fanout/shards'
import { isClientName, upstreamIdentity } from '../../../shared/upstream/identity'
import { noTokenProblem, sliceClient, subrequestBudget, tokenLostProblem } from '../../../shared/upstream/request-client'
import { upstreamProblem } from '../../../shared/upstream/to-problem'
import type { Env } from './env'
import { normalizeParams, pick, shardName, sweepName, upstreamFields, type SweepParams } from './params'
import { SweepStore, type JobMeta, type PendingImage, type SliceCounts, type SliceRow } from './sweep-store'

export interface SweepBody {
  sequence_id: string
  image_ids: string[]
  detections: Record<string, Record<string, unknown>[]>
}

export type SweepAnswer =
  | { ok: true; body: SweepBody; /** upstream fetch attempts the whole job cost */ requests: number }
  | { ok: false; problem: Problem; headers?: Record<string, string> }

export interface SweepProgress {
  state: JobMeta['state'] | 'empty'
  total: number
  /** Child objects sweeping the parts (1: this object sweeps it); counts and slices are theirs summed. */
  shards: number
  pending: number
  done: number
  failed: number
  slices: SliceRow[]
}

/** Connections one invocation may hold (Workers platform limit). */
const MAX_IN_FLIGHT = 6
/** Attempts per upstream `get` inside a slice (the client's retries). */
const ATTEMPTS_PER_GET = 3
/** Slices in which one image may fail (after the client's retries) before the job fails. */
const MAX_IMAGE_TRIES = 3
/** Slices in a row that finish no image before the job gives up. */
const MAX_STALLS = 3
/** Slices in a row that hit an unexpected error before the job gives up. */
const MAX_ERRORS = 3
/** How long a finished or failed job stays in storage (the KV cache holds answers after that). */
const RETAIN_MS = 60 * 60 * 1000
/** Fallback poll of storage while waiting (the finishing alarm normally wakes waiters at once). */
const POLL_MS = 1000
/** Longest Retry-After a slice waits for inside its invocation; longer ones delay the next alarm. */
const MAX_RETRY_AFTER_IN_SLICE = 5
const MAX_ALARM_DELAY_MS = 60_000
/** When a part's first slice runs in its call, the alarm that resumes the work if the call is cut off. */
const WATCHDOG_MS = 5_000


export class SequenceSweep extends DurableObject<Env> {
  readonly #store: SweepStore
  /** A caller's own token for the running job: memory only, never stored, keyed or logged. */
  #clientToken: string | undefined
  #work: Promise<SweepAnswer> | null = null
  #planning: Promise<SweepAnswer | null> | null = null
  #sliceRunning = false
  readonly #waiters = new Set<() => void>()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#store = new SweepStore(ctx.storage)
  }

  /**
   * The whole answer for `params`: stored when done, else planned and swept (joining any work
   * already running for the same question). `clientToken`, when the caller sent its own, pays for
   * the upstream calls of a job this call starts; it lives in memory only.
   */
  async run(input: SweepParams, clientToken?: string): Promise<SweepAnswer> {
    const params = validParams(input)
    if (!params) return invalidParams()
    return this.#join(params, await this.#name(params, clientToken), clientToken)
  }

  /**
   * One part of a sharded sweep: `part.ids` (a contiguous run of the sequence's images) swept by
   * this object like a whole sequence, in budgeted slices. Called by the question's object.
   */
  async runPart(input: SweepParams, part: { name: string; ids: string[] }, clientToken?: string): Promise<SweepAnswer> {
    const params = validParams(input)
    const ok = params && typeof part?.name === 'string' && part.name.startsWith(`${await this.#name(params, clientToken)}#`) && Array.isArray(part.ids) && part.ids.length > 0 && part.ids.every((id) => typeof id === 'string')
    if (!ok) return invalidParams()
    return this.#join(params, part.name, clientToken, part.ids)
  }

  async #join(params: SweepParams, name: string, clientToken: string | undefined, ids?: string[]): Promise<SweepAnswer> {
    const meta = this.#store.meta()
    // A part asked for other images than it holds (the sequence changed since): it starts over.
    const otherPart = ids !== undefined && meta?.name === name && !sameIds(this.#store.ids(), ids)
    if (meta && (meta.name !== name || otherPart)) {
      // One object, one question: anything else in here is not ours to keep.
      if (this.#work || this.#sliceRunning) return { ok: false, problem: problem('internal_error', 'This sweep object is busy with another question.') }
      await this.#store.clear()
    } else if (meta?.state === 'done' && meta.shards <= 1) {
      return this.#answer()
    }
    this.#work ??= this.#drive(params, name, clientToken, ids).finally(() => {
      this.#work = null
    })
    return this.#work
  }

  /**
   * Plans the sweep (one `/image_ids` call) if it has no plan yet, without starting it: the
   * first alarm, or a `run()`, does. Answers the progress, or the problem that stopped planning.
   */
  async prepare(input: SweepParams, clientToken?: string): Promise<{ ok: true; progress: SweepProgress } | { ok: false; problem: Problem; headers?: Record<string, string> }> {
    const params = validParams(input)
    if (!params) return invalidParams()
    const name = await this.#name(params, clientToken)
    const meta = this.#store.meta()
    if (meta && meta.name !== name) return { ok: false, problem: problem('internal_error', 'This sweep object holds another question.') }
    if (!meta) {
      this.#clientToken = clientToken
      const failed = await this.#planOnce(params, name)
      if (failed) return failed.ok ? { ok: false, problem: problem('internal_error', 'Unexpected plan answer.') } : failed
    }
    return { ok: true, progress: await this.progress() }
  }

  /** The question's name: its parameters and the identity of the token it is fetched with (the Worker names the object alike). */
  async #name(params: SweepParams, clientToken: string | undefined): Promise<string> {
    return sweepName(params, await upstreamIdentity(clientToken, this.env))
  }

  /** State and accounting, for tests and operators; a sharded sweep's are its parts' summed. */
  async progress(): Promise<SweepProgress> {
    const meta = this.#store.meta()
    const own: SweepProgress = { state: meta?.state ?? 'empty', total: meta?.total ?? 0, shards: meta?.shards ?? 1, ...this.#store.countByState(), slices: this.#store.slices() }
    if (!meta || meta.shards <= 1) return own
    const parts = await Promise.all(Array.from({ length: meta.shards }, (_, k) => this.env.SEQUENCE_SWEEP.getByName(shardName(meta.name, k, meta.shards)).progress()))
    const sum = (key: 'pending' | 'done' | 'failed') => parts.reduce((a, p) => a + p[key], 0)
    return { ...own, pending: meta.total - sum('done') - sum('failed'), done: sum('done'), failed: sum('failed'), slices: [...own.slices, ...parts.flatMap((p) => p.slices)] }
  }

  /** One slice per alarm; never throws (a throwing alarm would be retried blindly). */
  override async alarm(): Promise<void> {
    try {
      await this.#alarm()
    } catch (e) {
      await this.#unexpected(e)
    }
  }

  async #drive(params: SweepParams, name: string, clientToken: string | undefined, ids?: string[]): Promise<SweepAnswer> {
    let meta = this.#store.meta()
    if (!meta) {
      this.#clientToken = clientToken
      const failed = await this.#planOnce(params, name, ids)
      if (failed) return failed
      meta = this.#store.meta()
      if (!meta) return { ok: false, problem: problem('internal_error', 'The sweep lost its plan.') }
    }
    if (meta.shards > 1) return this.#gather(params, meta, clientToken)
    if (meta.state === 'failed') {
      this.#clientToken = clientToken
      this.#store.retry()
    } else if (meta.state === 'done') {
      return this.#answer()
    } else if (!this.#clientToken && clientToken && !this.#sliceRunning) {
      // Running after an eviction lost the starter's token: this caller's (the same, by the object's name) pays from now on.
      this.#clientToken = clientToken
    }
    if (!this.#sliceRunning) {
      if (ids && meta.state === 'running') {
        // A part's call has made no upstream request yet: its first slice runs right here, one
        // alarm hop sooner. The alarm behind it takes over should this call be cut off.
        await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS)
        void this.alarm()
      } else {
        await this.ctx.storage.setAlarm(Date.now())
      }
    }
    await this.#settled()
    return this.#answer()
  }

  /** A sharded sweep: every part run (or joined, or answered from its storage) at once, then joined in order. */
  async #gather(params: SweepParams, meta: JobMeta, clientToken: string | undefined): Promise<SweepAnswer> {
    const ids = this.#store.ids()
    const parts = partition(ids, meta.shards)
    const answers = await Promise.all(parts.map((part, k) => this.#callPart(params, { name: shardName(meta.name, k, parts.length), ids: part }, clientToken)))
    const failed = answers.find((a) => !a.ok)
    if (failed) {
      await this.#fail(failed.problem, failed.headers ?? {})
      return failed
    }
    const detections: SweepBody['detections'] = {}
    let requests = this.#store.totalAttempts()
    for (const a of answers) {
      if (!a.ok) continue
      Object.assign(detections, a.body.detections)
      requests += a.requests
    }
    // Whole or not at all: every planned image must come back from its part.
    const missing = ids.filter((id) => !Object.hasOwn(detections, id)).length
    if (missing > 0) {
      const p = problem('internal_error', `${missing} image(s) of the sequence came back from no part; ask again to resume.`)
      await this.#fail(p, {})
      return { ok: false, problem: p }
    }
    await this.#finish()
    return { ok: true, body: { sequence_id: meta.sequence_id, image_ids: ids, detections }, requests }
  }

  /** One part's answer; a call the runtime says may be retried is, with a fresh stub. */
  async #callPart(params: SweepParams, part: { name: string; ids: string[] }, clientToken: string | undefined): Promise<SweepAnswer> {
    try {
      // RPC's Serializable mapping cannot follow Problem's open members: the shape is SweepAnswer.
      return await callObject(() => this.env.SEQUENCE_SWEEP.getByName(part.name), (stub) => stub.runPart(params, part, clientToken) as Promise<SweepAnswer>)
    } catch (e) {
      console.error('sequence sweep: a part failed', e instanceof Error ? e.name : typeof e)
      return { ok: false, problem: problem('internal_error', 'A part of the sweep failed on our side; ask again to resume.') }
    }
  }

  /** One planning call at a time: concurrent callers share it. */
  #planOnce(params: SweepParams, name: string, ids?: string[]): Promise<SweepAnswer | null> {
    this.#planning ??= this.#plan(params, name, ids).finally(() => {
      this.#planning = null
    })
    return this.#planning
  }

  /**
   * Stores the plan: a part's given ids, or the sequence's from one `/image_ids` call, split
   * across shards when long enough. Answers a problem when there is nothing to sweep.
   */
  async #plan(params: SweepParams, name: string, given?: string[]): Promise<SweepAnswer | null> {
    if (given) {
      this.#store.plan(name, params, given, null, Date.now())
      return null
    }
    const client = this.#client()
    if (!client.ok) return client
    const started = Date.now()
    let ids: string[]
    try {
      const res = await client.client.get<{ data?: { id: string }[] }>('/image_ids', { sequence_id: params.sequence_id })
      ids = (res.data ?? []).map((d) => String(d.id))
    } catch (e) {
      if (e instanceof UpstreamError) {
        if (e.reason === 'not_found') return notFound(params.sequence_id)
        return { ok: false, ...upstreamProblem(e, client.client.tokenSource) }
      }
      throw e
    }
    if (ids.length === 0) return notFound(params.sequence_id)
    const shards = shardCount(ids.length, shardSettings(this.env))
    this.#store.plan(name, params, ids, client.client.stats, started, shards)
    // A split sweep's object runs no slice; its alarm only forgets the plan if the parts never finish.
    if (shards > 1) await this.ctx.storage.setAlarm(Date.now() + RETAIN_MS)
    return null
  }

  /** Resolves when the job is no longer running (woken by the finishing alarm, or by polling). */
  async #settled(): Promise<void> {
    for (;;) {
      const meta = this.#store.meta()
      if (!meta || meta.state !== 'running') return
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, POLL_MS)
        this.#waiters.add(wake)
      })
    }
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  #answer(): SweepAnswer {
    const meta = this.#store.meta()
    if (!meta) return { ok: false, problem: problem('internal_error', 'The sweep lost its plan.') }
    if (meta.state === 'failed') {
      const f = meta.failure ?? { problem: problem('internal_error', 'The sweep failed.'), headers: {} }
      return { ok: false, problem: f.problem, headers: f.headers }
    }
    if (meta.state !== 'done') return { ok: false, problem: problem('internal_error', 'The sweep is not finished.') }
    const { ids, detections } = this.#store.results()
    const body: SweepBody = {
      sequence_id: meta.sequence_id,
      image_ids: ids,
      detections: Object.fromEntries(detections.map(([id, json]) => [id, JSON.parse(json) as Record<string, unknown>[]])),
    }
    return { ok: true, body, requests: this.#store.totalAttempts() }
  }

  /** The server token, unless the caller of the running job sent its own (memory only). */
  #client(overrides: Partial<GraphClientOptions> = {}): { ok: true; client: GraphClient } | { ok: false; problem: Problem; headers: Record<string, string> } {
    // A client's run never goes on with the server's token: after a restart it waits for its caller's.
    if (!this.#clientToken && isClientName(this.#store.meta()?.name)) return { ok: false, problem: tokenLostProblem(), headers: {} }
    const client = sliceClient(this.env, this.#clientToken, { maxInFlight: MAX_IN_FLIGHT, ...overrides })
    return client ? { ok: true, client } : { ok: false, problem: noTokenProblem(), headers: {} }
  }

  async #alarm(): Promise<void> {
    if (this.#sliceRunning) return
    const meta = this.#store.meta()
    if (!meta) return
    if (meta.state === 'running' && meta.shards > 1) {
      // Its parts run the slices. This alarm only forgets a plan nobody came back for.
      const end = meta.planned_at + RETAIN_MS
      if (this.#work || Date.now() < end) await this.ctx.storage.setAlarm(Math.max(end, Date.now() + POLL_MS))
      else await this.#store.clear()
      return
    }
    if (meta.state !== 'running') {
      // A retention alarm: forget the job once it has been kept long enough.
      const end = (meta.finished_at ?? 0) + RETAIN_MS
      if (Date.now() >= end) await this.#store.clear()
      else await this.ctx.storage.setAlarm(end)
      return
    }
    this.#sliceRunning = true
    try {
      await this.#slice(meta)
    } finally {
      this.#sliceRunning = false
    }
  }

  /** One invocation's share of the work. */
  async #slice(meta: JobMeta): Promise<void> {
    const budget = subrequestBudget(this.env)
    const getsPerImage = meta.pixels ? 2 : 1
    if (budget < getsPerImage) {
      return this.#fail(problem('subrequest_budget_exceeded', `SUBREQUEST_BUDGET (${budget}) is below the ${getsPerImage} requests one image needs.`), {})
    }
    const attemptsPerGet = Math.max(1, Math.min(ATTEMPTS_PER_GET, Math.floor(budget / getsPerImage)))

    const batch = this.#store.pending(Math.max(1, Math.floor(budget / getsPerImage)))
    if (batch.length === 0) return this.#finish()

    const made = this.#client({ maxAttempts: attemptsPerGet, maxRetryAfterSeconds: MAX_RETRY_AFTER_IN_SLICE })
    if (!made.ok) return this.#fail(made.problem, made.headers)
    const client = made.client
    const slice = this.#store.beginSlice()
    const params: SweepParams = { sequence_id: meta.sequence_id, fields: meta.fields, pixels: meta.pixels }
    const fieldsUp = upstreamFields(params)

    const queue = [...batch]
    let done = 0
    let failure: UpstreamError | undefined
    let unexpected: unknown
    let retryAfter = 0
    const counts = (): SliceCounts => ({ requests: client.stats.requests, attempts: client.stats.attempts, inFlightPeak: client.stats.inFlightPeak })

    const handle = async (img: PendingImage): Promise<void> => {
      try {
        const detections = await this.#fetchImage(client, img.id, params, fieldsUp)
        if (this.#store.complete(img.position, JSON.stringify(detections), slice, counts())) done++
      } catch (e) {
        if (!(e instanceof UpstreamError)) {
          unexpected ??= e
          return
        }
        if (e.reason === 'budget_exhausted') return // stays pending: the next slice has a fresh budget
        const transient = ['rate_limited', 'unavailable', 'timeout', 'dropped', 'bad_response'].includes(e.reason)
        const last = !transient || img.tries + 1 >= MAX_IMAGE_TRIES
        this.#store.imageFailed(img.position, last)
        if (e.retryAfterSeconds !== undefined) retryAfter = Math.max(retryAfter, e.retryAfterSeconds)
        if (last) failure ??= e
      }
    }

    // Start images while their first requests fit the budget, at most MAX_IN_FLIGHT requests at once.
    await pump({
      queue,
      maxActive: Math.max(1, Math.floor(MAX_IN_FLIGHT / getsPerImage)),
      fits: (starting) => !failure && unexpected === undefined && client.stats.attempts + (starting + 1) * getsPerImage <= budget,
      run: handle,
    })
    this.#store.endSlice(slice, counts())

    if (unexpected !== undefined) throw unexpected
    if (failure) return this.#fail(...this.#failureProblem(failure, client.tokenSource))
    this.#store.setCounters(0, 0)
    const left = this.#store.countByState()
    if (left.pending === 0) return this.#finish()
    if (done === 0) {
      const stalls = meta.stalls + 1
      if (stalls >= MAX_STALLS) {
        return this.#fail(problem('subrequest_budget_exceeded', 'The sweep made no progress within its subrequest budget.'), {})
      }
      this.#store.setCounters(stalls, 0)
    }
    await this.ctx.storage.setAlarm(Date.now() + Math.min(MAX_ALARM_DELAY_MS, retryAfter * 1000))
  }

  async #fetchImage(client: GraphClient, id: string, params: SweepParams, fields: string): Promise<Record<string, unknown>[]> {
    type Detection = Record<string, unknown> & { geometry?: unknown }
    const [list, size] = await Promise.all([
      client.get<{ data?: Detection[] }>(`/${encodeURIComponent(id)}/detections`, { fields }),
      params.pixels ? client.get<{ width: number; height: number }>(`/${encodeURIComponent(id)}`, { fields: 'width,height' }) : undefined,
    ])
    const data = list.data ?? []
    return size ? data.map((d) => pick(withPixels(d, size.width, size.height), params.fields, true)) : data.map((d) => pick(d, params.fields, false))
  }

  #failureProblem(e: UpstreamError, source: 'server' | 'client'): [Problem, Record<string, string>] {
    if (e.reason === 'not_found') {
      // The sequence exists (it was planned): an image the upstream listed but cannot serve is its fault.
      return [problem('upstream_error', 'The upstream listed an image of this sequence that it then could not serve.', e.status !== undefined ? { upstream_status: e.status } : {}), {}]
    }
    const { problem: p, headers } = upstreamProblem(e, source)
    return [p, headers]
  }

  async #finish(): Promise<void> {
    this.#store.finish()
    await this.ctx.storage.setAlarm(Date.now() + RETAIN_MS)
    this.#wakeWaiters()
  }

  async #fail(p: Problem, headers: Record<string, string>): Promise<void> {
    this.#store.fail({ problem: p, headers })
    await this.ctx.storage.setAlarm(Date.now() + RETAIN_MS)
    this.#wakeWaiters()
  }

  /** A non-upstream error in a slice: try again shortly, give up after a few in a row. */
  async #unexpected(e: unknown): Promise<void> {
    try {
      const meta = this.#store.meta()
      if (!meta || meta.state !== 'running') return
      const errors = meta.errors + 1
      if (errors >= MAX_ERRORS) {
        console.error('sequence sweep failed', e instanceof Error ? e.name : typeof e)
        await this.#fail(problem('internal_error', 'An unexpected error occurred on our side.'), {})
        return
      }
      this.#store.setCounters(meta.stalls, errors)
      await this.ctx.storage.setAlarm(Date.now() + 1000 * errors)
    } catch {
      // Nothing more to do: the alarm must not throw.
    }
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

/** Normalised parameters, or null when the Worker sent something the public validation refuses. */
function validParams(input: SweepParams): SweepParams | null {
  try {
    return normalizeParams(input)
  } catch {
    return null
  }
}

function invalidParams(): { ok: false; problem: Problem } {
  return { ok: false, problem: problem('invalid_parameter', 'The sweep parameters are not valid.') }
}

function notFound(sequenceId: string): SweepAnswer {
  return { ok: false, problem: problem('not_found', `Sequence '${sequenceId}' does not exist or has no images.`) }
}
