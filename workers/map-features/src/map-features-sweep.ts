/**
 * @module
 * MapFeaturesSweep: the Durable Object that fans one bbox sweep out over as many invocations as
 * it needs. One object per normalised request ({@link sweepName}); identical concurrent requests
 * land on it and join the running work.
 *
 * Plan → `cells` table; each alarm runs one slice: at most `SUBREQUEST_BUDGET` upstream fetch
 * attempts (retries included), at most 6 in flight, each cell's outcome written in one
 * transaction; then it re-arms itself until no cell is pending. Progress and partial results live
 * only in SQLite, so an evicted object resumes where it stopped, without loss or duplicates.
 */
import { DurableObject } from 'cloudflare:workers'
import { problem, type Problem } from '../../../shared/http/problem'
import { TTL } from '../../../shared/cache/kv-cache'
import { parseRetryAfter } from '../../../shared/upstream/backoff'
import { classifyStatus } from '../../../shared/upstream/classify'
import { UpstreamError } from '../../../shared/upstream/errors'
import { noTokenProblem, sliceClient, subrequestBudget, tokenLostProblem } from '../../../shared/upstream/request-client'
import { upstreamProblem } from '../../../shared/upstream/to-problem'
import { isClientName, type UpstreamIdentity } from '../../../shared/upstream/identity'
import { pump } from '../../../shared/fanout/pump'
import { judgeCell, orderIds, planCells, startCellCount } from '../../../shared/tiling'
import { boxTooCostly, maxBoxRequests, maxCellSpanDeg } from './box-limits'
import { featureCollectionJson, featureJson, type UpstreamMapFeature } from './feature-collection'
import { SweepStore, type JobRow, type Progress, type SliceRow, type StoredCell, type SweepParams } from './sweep-store'
import type { Env } from './env'

export type { SweepParams } from './sweep-store'

export type SweepAnswer =
  /** `body`: the FeatureCollection as JSON text (an answer of megabytes is not cloned through RPC, parsed and written again). */
  | { ok: true; body: string; requests: number }
  | { ok: false; problem: Problem; headers?: Record<string, string>; requests: number }

/** Connections one invocation may hold (Workers: 6 fetches awaiting headers). */
const MAX_IN_FLIGHT = 6
/** How often a waiting `run` re-reads storage (a fallback: the alarm wakes it directly). */
const POLL_MS = 1000
/** Longest a `run` call waits before answering "still running, retry". */
const MAX_WAIT_MS = 5 * 60_000
/** A finished result is served this long (as long as the KV copy), then swept again. */
const RESULT_TTL_MS = TTL.mapFeaturesBbox * 1000
/** When a slice runs in a `run` call, the alarm that resumes the work if the call is cut off. */
const WATCHDOG_MS = 5_000
/** Tables are emptied this long after the job ended. */
const RETAIN_MS = RESULT_TTL_MS + 10 * 60_000

/** Canonical text of a parameter set: the object name and the stored-params comparison. */
export function canonicalParams(p: SweepParams): string {
  return JSON.stringify({ bbox: p.bbox.map((n) => (Object.is(n, -0) ? 0 : n)), objectValues: p.objectValues ?? null, fields: p.fields })
}

/**
 * The object name for a request: exact bbox numbers (JS's shortest round-trip text, so `8.940`
 * and `8.94` meet), sorted object values, sorted fields, and the caller's upstream identity when
 * it is a client's (callers share a run only with the same identity). Never a token.
 * @example sweepName({ bbox: [-79.54, 8.94, -79.52, 8.96], fields: [] }) // 'mf-sweep:v1:{"bbox":[-79.54,8.94,-79.52,8.96],…}'
 * @example sweepName(p, 'client:9f2c…') // 'mf-sweep:v1:{…}|client:9f2c…'
 */
export function sweepName(p: SweepParams, identity: UpstreamIdentity = 'server'): string {
  return `mf-sweep:v1:${canonicalParams(p)}${identity === 'server' ? '' : `|${identity}`}`
}

export class MapFeaturesSweep extends DurableObject<Env> {
  readonly store: SweepStore
  /** A caller's own token: memory only (never storage, a key or a log); lost on eviction, until its caller asks again. */
  #clientToken: string | undefined
  #slicing = false
  #waiters: Array<(a: SweepAnswer) => void> = []

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.store = new SweepStore(ctx.storage)
  }

  /**
   * Every map feature of `params` as a FeatureCollection, or the problem why not. Answers the
   * stored result when done; otherwise starts (or joins, or retries after a failure) the sweep
   * and waits for it. The sweep asks at most `maxRequests` cells upstream (default
   * `MAX_BOX_REQUESTS`, see box-limits.ts): a plan needing more is refused before any request, a
   * sweep whose splits would need more ends there; both answer 422 `box_too_costly`. A sweep that
   * ended so under a smaller bound goes on, from where it stopped, under a larger one.
   */
  async run(params: SweepParams, clientToken?: string, opts: { maxRequests?: number } = {}): Promise<SweepAnswer> {
    if (clientToken) this.#clientToken = clientToken
    const now = Date.now()
    const maxRequests = opts.maxRequests ?? maxBoxRequests(this.env)
    let job = this.store.job()
    const fresh = job && canonicalParams(job.params) === canonicalParams(params) && !(job.state !== 'running' && job.finishedAt !== undefined && now - job.finishedAt > RESULT_TTL_MS)
    const stoppedShort = job?.problem?.code === 'box_too_costly' && (job.maxRequests ?? Infinity) < maxRequests
    if (!job || !fresh) {
      if (this.#slicing) return { ok: false, problem: problem('internal_error', 'Another sweep holds this object.'), requests: 0 }
      const plan = { maxCellSpanDeg: maxCellSpanDeg(this.env) }
      let cells
      try {
        // Planning is pure and costs nothing: a plan already over the bound is refused before any request.
        const starts = startCellCount(params.bbox, plan)
        if (starts > maxRequests) return { ok: false, problem: boxTooCostly({ limit: maxRequests, needed: starts, asked: 0 }), requests: 0 }
        cells = planCells(params.bbox, plan)
      } catch (e) {
        return { ok: false, problem: problem('invalid_bbox', e instanceof Error ? e.message : 'invalid bbox'), requests: 0 }
      }
      this.store.start(params, cells, now, maxRequests)
      job = this.store.job()!
    } else if (job.state === 'done' && !stoppedShort) {
      return this.#answer(job)
    } else if (job.state !== 'running') {
      this.store.retry(maxRequests)
    }
    const done = new Promise<SweepAnswer>((resolve) => this.#waiters.push(resolve))
    if (!this.#slicing) {
      // This call has made no upstream request (planning is tile math): the next slice runs right
      // here, one alarm hop sooner. The alarm behind it takes over should this call be cut off.
      await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS)
      void this.alarm()
    }
    const deadline = now + MAX_WAIT_MS
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const tick = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), POLL_MS)))
      const settled = await Promise.race([done, tick])
      clearTimeout(timer)
      if (settled) return settled
      // Fallback: the job may have ended without waking us (e.g. another instance's alarm).
      const j = this.store.job()
      if (!j) return { ok: false, problem: problem('internal_error', 'The sweep vanished while running.'), requests: 0 }
      if (j.state !== 'running') return this.#answer(j)
      if (Date.now() > deadline) {
        return { ok: false, problem: problem('upstream_unavailable', 'The sweep is still running; ask again shortly for the complete answer.', { retry_after: 10 }), headers: { 'retry-after': '10' }, requests: this.store.requests() }
      }
      await this.#ensureAlarm()
    }
  }

  /** Counts of cells by state, features, slices and upstream requests (for tests and logs). */
  progress(): Progress {
    return this.store.progress()
  }

  /** Every slice so far with its upstream attempts. */
  slices(): SliceRow[] {
    return this.store.slices()
  }

  /** One slice per alarm. Never throws: a throwing alarm would be retried by the platform. */
  override async alarm(): Promise<void> {
    try {
      const job = this.store.job()
      if (!job) return
      if (job.state === 'running') {
        await this.#slice(job)
        return
      }
      const due = (job.finishedAt ?? 0) + RETAIN_MS
      if (Date.now() >= due) {
        this.store.clear()
        await this.ctx.storage.deleteAlarm()
      } else {
        await this.ctx.storage.setAlarm(due)
      }
    } catch (e) {
      console.error('map-features sweep: alarm failed', e instanceof Error ? e.name : 'unknown')
      try {
        const p = problem('internal_error', 'The sweep failed on our side.')
        this.store.fail(p, {}, Date.now())
        this.#settle()
      } catch {
        // Storage itself failing: the next request finds the job running and re-arms it.
      }
    }
  }

  /** Arms the alarm for a running job unless a slice is running or one is already due. */
  async #ensureAlarm(): Promise<void> {
    if (this.#slicing) return
    // A far alarm is the clean-up one of a finished job: a running job needs a slice now.
    const at = await this.ctx.storage.getAlarm()
    if (at === null || at > Date.now() + POLL_MS) await this.ctx.storage.setAlarm(Date.now())
  }

  #answer(job: JobRow): SweepAnswer {
    const requests = this.store.requests()
    if (job.problem) return { ok: false, problem: job.problem, ...(job.headers ? { headers: job.headers } : {}), requests }
    const byId = this.store.featureTexts()
    return { ok: true, body: featureCollectionJson(orderIds(byId.keys()).map((id) => byId.get(id)!)), requests }
  }

  /** Wakes every waiting `run` with the job's final answer. */
  #settle(): void {
    const waiters = this.#waiters
    this.#waiters = []
    if (waiters.length === 0) return
    const job = this.store.job()
    const a: SweepAnswer = job ? this.#answer(job) : { ok: false, problem: problem('internal_error', 'The sweep vanished.'), requests: 0 }
    for (const w of waiters) w(a)
  }

  async #slice(job: JobRow): Promise<void> {
    if (this.#slicing) return
    this.#slicing = true
    try {
      const state = await this.#runSlice(job)
      if (state === 'running') {
        await this.ctx.storage.setAlarm(Date.now())
      } else {
        // The caller's token served this job only: a later job uses its own caller's, or the server's.
        this.#clientToken = undefined
        this.#settle()
        await this.ctx.storage.setAlarm(Date.now() + RETAIN_MS)
      }
    } finally {
      this.#slicing = false
    }
  }

  /** One invocation's worth of cells: ≤ budget attempts, ≤ 6 in flight. Answers the job's state after it. */
  async #runSlice(job: JobRow): Promise<'running' | 'done' | 'failed'> {
    const env = this.env
    const { bbox, objectValues, fields } = job.params
    const budget = subrequestBudget(env)
    // The last upstream failure seen, to name it if the budget ends a slice before the client gives up.
    let lastFailure: { status?: number; retryAfter?: string | null } | undefined
    // A client's run never goes on with the server's token: after a restart it waits for its caller's.
    if (!this.#clientToken && isClientName(this.ctx.id.name)) {
      this.store.fail(tokenLostProblem(), {}, Date.now())
      return 'failed'
    }
    const client = sliceClient(env, this.#clientToken, {
      maxInFlight: MAX_IN_FLIGHT,
      fetch: async (input, init) => {
        try {
          const res = await globalThis.fetch(input, init)
          if (!res.ok) lastFailure = { status: res.status, retryAfter: res.headers.get('retry-after') }
          return res
        } catch (e) {
          lastFailure = {}
          throw e
        }
      },
    })
    if (!client) {
      this.store.fail(noTokenProblem(), {}, Date.now())
      return 'failed'
    }
    const tokenSource = client.tokenSource
    const upstreamFields = ['id', 'object_value', 'geometry', ...fields].join(',')
    const render = (f: UpstreamMapFeature) => featureJson(f, fields)
    const sliceId = this.store.beginSlice(budget, Date.now())
    const queue: StoredCell[] = this.store.pendingCells()
    let progressed = 0
    let failure: UpstreamError | undefined
    let failedCell: StoredCell | undefined
    let overLimit: Problem | undefined
    let unexpected: unknown

    const fetchCell = async (cell: StoredCell) => {
      const res = await client.get<{ data?: UpstreamMapFeature[] }>('/map_features', {
        bbox: cell.bbox.join(','),
        fields: upstreamFields,
        object_values: objectValues?.join(','),
        limit: '2000',
      })
      return Array.isArray(res?.data) ? res.data : []
    }

    await pump({
      queue,
      maxActive: MAX_IN_FLIGHT,
      fits: (starting) => !failure && !overLimit && unexpected === undefined && client.stats.attempts + starting < budget,
      run: async (cell) => {
        try {
          const answer = await fetchCell(cell)
          const outcome = judgeCell(cell, answer, bbox)
          const recorded = this.store.recordOutcome(sliceId, cell, answer.length, outcome, client.stats.attempts, render)
          // A split past the bound ends the question: nothing more is started.
          if ('overLimit' in recorded) overLimit ??= boxTooCostly(recorded.overLimit)
          else queue.push(...recorded.added)
          progressed++
        } catch (e) {
          if (!(e instanceof UpstreamError)) {
            unexpected ??= e
            return
          }
          // Out of budget: the cell stays pending for the next slice.
          if (e.reason === 'budget_exhausted') return
          this.store.recordFailure(sliceId, cell, client.stats.attempts)
          if (!failure) {
            failure = e
            failedCell = cell
          }
        }
      },
    })

    if (unexpected !== undefined) throw unexpected
    let fail: { problem: Problem; headers: Record<string, string> } | undefined
    if (failure) {
      fail = this.#failureProblem(failure, tokenSource, failedCell)
    } else if (progressed === 0 && lastFailure) {
      // Every attempt of the slice failed and the budget ran out before the client's retries did:
      // report it now rather than spend another slice the same way.
      const f = lastFailure
      const c = f.status !== undefined ? classifyStatus(f.status, '', parseRetryAfter(f.retryAfter)) : { reason: 'dropped' as const }
      const e = new UpstreamError(c.reason, 'Graph API GET /map_features kept failing', { ...('status' in c && c.status !== undefined ? { status: c.status } : {}), ...('retryAfterSeconds' in c && c.retryAfterSeconds !== undefined ? { retryAfterSeconds: c.retryAfterSeconds } : {}), tokenSource })
      fail = this.#failureProblem(e, tokenSource, undefined)
    }
    return this.store.endSlice(sliceId, client.stats.attempts, Date.now(), {
      ...(overLimit ? { overLimit } : {}),
      ...(fail ? { failure: fail } : {}),
      incomplete: (saturated) =>
        problem('incomplete_result', `${saturated.length} cell(s) no side of which is longer than a z22 tile (about 9.5 m) still hold 2000 or more features; the answer would be cut, so none is given.`, {
          saturated_cells: saturated.map((s) => s.bbox),
        }),
    })
  }

  #failureProblem(e: UpstreamError, tokenSource: 'server' | 'client', cell: StoredCell | undefined): { problem: Problem; headers: Record<string, string> } {
    const { problem: p, headers } = upstreamProblem(e, tokenSource)
    const where = cell ? ` (cell ${cell.bbox.join(',')})` : ''
    return {
      problem: { ...p, detail: `Sweeping the box failed: ${p.detail}${where} Work done so far is kept; ask again to resume.`, upstream_reason: e.reason, ...(cell ? { failed_cell: cell.bbox } : {}) },
      headers,
    }
  }
}
