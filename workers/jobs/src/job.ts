/**
 * @module
 * Job: the Durable Object of one job (named by its id). A job is a durable wrapper around its
 * task's synchronous endpoint: the object's alarm calls the task Worker over its service binding
 * with the synchronous path, waits, and stores the answer's body and content type as they came (in
 * chunks). Meanwhile it asks the task Worker's `/internal/progress/<path>` route for progress, at a
 * pace that slows as the wait grows ({@link pollDelayMs}), and stores it; status reads and event
 * streams read only this object's storage.
 *
 * The task Workers coalesce by question, so a job and a synchronous request for the same question
 * share one fan-out, and an alarm that resumes an evicted job does no work twice.
 *
 * A 503 (or an unreachable Worker) is retried by a later alarm, honouring Retry-After, up to
 * {@link TASK_ATTEMPTS} times in a row without progress; any other failure ends the job with the
 * task's problem. A caller's own token lives in this object's memory only: if the object lost it
 * (eviction), the job fails asking to be submitted again, never falling back to the server's token.
 * The record and result are deleted at `expiresAt` (JOB_TTL_SECONDS after submission).
 *
 * A job with a `callback_url` delivers its callback once it ended (src/callback.ts): the same
 * alarm makes each attempt when it is due, and after a failed one arms the next per
 * `deliveryDelayMs` (CALLBACK_ATTEMPTS in all), so a delivery resumes after an eviction. Every
 * attempt is stored and shown in the status as `deliveries`.
 */
import { DurableObject } from 'cloudflare:workers'
import { problem, problemResponse, PROBLEM_CONTENT_TYPE, type Problem } from '../../../shared/problem/problem'
import type { JobTask } from '../../../shared/http/task-params'
import { parseRetryAfter } from '../../../shared/upstream/backoff'
import { checkCallbackUrl, DEFAULT_DELIVERY_ATTEMPTS, deliveryDelayMs, webhookSecrets } from '../../../shared/webhooks'
import { attemptDelivery, callbackMessage, CALLBACK_TIMEOUT_MS, type AttemptOutcome, type CallbackEvent } from './callback'
import type { Env, TaskBinding } from './env'
import { isJobId } from './job-id'
import { JobStore, RESULT_CHUNK_BYTES, type DeliveryRow, type DeliveryState, type RunRow } from './job-store'
import { deliveryView, isEnded, jobStatus, mergeProgress, pendingEvents, seenAll, statusUrl, type DeliveryView, type JobRow, type JobStatus, type Progress } from './job-view'
import { pollDelayMs } from './poll'
import { lastEventId, sseComment, sseMessage, sseRetry } from './sse'

/** The task Worker that answers each task. */
export const TASK_BINDING: Record<JobTask, TaskBinding> = {
  'map-features': 'MAP_FEATURES',
  'sequence-detections': 'SEQUENCE_DETECTIONS',
  'image-detections': 'DETECTION_GEOMETRY',
  'feature-images': 'FEATURE_IMAGES',
}

/** Task calls in a row answered 503 (or unreachable) without progress before the job fails. */
export const TASK_ATTEMPTS = 5
/** Wait before retrying a 503 that gave no Retry-After, or an unreachable Worker. */
const RETRY_DELAY_S = 5
/** Longest Retry-After honoured (longer ones are waited this long). */
const MAX_RETRY_DELAY_S = 600
/** When a run is cut off (eviction), the alarm that resumes it. A live run just re-arms it. */
const WATCHDOG_MS = 30_000
/** Longest one task call may take: under an alarm's 15-minute wall limit (a sweep answers "still running, retry" after 5). */
const TASK_CALL_TIMEOUT_MS = 12 * 60_000
/** Subrequests one run may make (Workers: 1,000 to Cloudflare services per invocation); progress asks stop short of it. */
const MAX_SUBREQUESTS_PER_RUN = 900
/** Unexpected errors in a row (ours, not the task's) before the job fails. */
const MAX_ERRORS = 3
const DEFAULT_TTL_S = 86_400
const DEFAULT_HEARTBEAT_S = 15
/** How long a browser's EventSource waits before reconnecting to a broken stream. */
const SSE_RETRY_MS = 2_000
/** First retry delay of a callback when CALLBACK_BASE_DELAY_MS does not say (then doubling, with jitter). */
const DEFAULT_CALLBACK_BASE_DELAY_MS = 30_000

export interface CreateJob {
  id: string
  task: JobTask
  path: string
  callbackUrl?: string
  /** What the task Worker reported before the job was made (a sweep may already be running). */
  progress?: Progress
  /** The public origin, for the URLs in the status. */
  origin: string
}

type Outcome = { kind: 'done' } | { kind: 'failed'; problem: Problem } | { kind: 'retry'; problem: Problem; delayS: number }

export class Job extends DurableObject<Env> {
  readonly #store: JobStore
  /** The caller's `Authorization: OAuth MLY|…`: memory only, never storage, a log or a response. */
  #authorization: string | undefined
  /** A run (task call) is in progress in this instance. */
  #running = false
  #errors = 0
  readonly #listeners = new Set<() => void>()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#store = new JobStore(ctx.storage)
  }

  /** Stores the job and arms the alarm that runs it. `authorization`: the caller's own token header, if any. */
  async create(input: CreateJob, authorization?: string): Promise<JobStatus> {
    if (!isJobId(input?.id)) throw new TypeError('job: bad id')
    const existing = this.#store.row()
    if (existing) return jobStatus(existing, input.origin)
    const now = Date.now()
    this.#authorization = authorization
    this.#store.create({
      id: input.id,
      task: input.task,
      path: input.path,
      ...(input.callbackUrl !== undefined ? { callbackUrl: input.callbackUrl } : {}),
      origin: input.origin,
      clientToken: authorization !== undefined,
      progress: mergeProgress({ done: 0, total: 0 }, input.progress) ?? { done: 0, total: 0 },
      createdAt: now,
      expiresAt: now + seconds(this.env.JOB_TTL_SECONDS, DEFAULT_TTL_S) * 1000,
    })
    await this.ctx.storage.setAlarm(now)
    return jobStatus(this.#store.row()!, input.origin)
  }

  /** The status, or null when there is no such job (never made, or expired). */
  status(origin: string): JobStatus | null {
    const row = this.#live()
    return row ? jobStatus(row, origin, this.#store.deliveries()) : null
  }

  /**
   * Starts a new delivery of the callback (a new delivery id), superseding one still pending:
   * the delivery, or the problem (no job, not ended yet, no callback_url).
   */
  async redeliver(): Promise<{ delivery: DeliveryView } | { problem: Problem }> {
    const row = this.#live()
    if (!row) return { problem: jobNotFound() }
    if (!isEnded(row.state)) return { problem: problem('job_not_ready', `The job is ${row.state}; its callback is delivered once it ended.`, { state: row.state }) }
    if (row.callbackUrl === undefined) return { problem: problem('no_callback_url', 'The job was submitted without a callback_url: there is nothing to deliver.') }
    this.#store.startDelivery(crypto.randomUUID(), eventOf(row), Date.now())
    await this.#armAfterEnd(row)
    return { delivery: deliveryView(this.#store.pendingDelivery()!) }
  }

  /** Every run so far with its subrequests (for tests and operators). */
  runs(): RunRow[] {
    return this.#store.runs()
  }

  /** `GET …/result` and `GET …/events` (streamed bodies); the Worker forwards the public request. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const row = this.#live()
    if (!row) return problemResponse(jobNotFound())
    if (url.pathname.endsWith('/events')) return this.#events(row, request, url.origin)
    if (url.pathname.endsWith('/result')) return this.#result(row)
    return problemResponse(problem('route_not_found', 'No such job route.'))
  }

  override async alarm(): Promise<void> {
    try {
      await this.#alarm()
      this.#errors = 0
    } catch (e) {
      // Never rethrow: the platform would retry blindly. Our own error: try again shortly, a few times.
      console.error('job: alarm failed', e instanceof Error ? e.name : typeof e)
      try {
        const ended = isEnded(this.#store.row()?.state ?? 'queued')
        // An ended job stays as it ended: only its callback's delivery is tried again.
        if (++this.#errors >= MAX_ERRORS && !ended) await this.#fail(problem('internal_error', 'The job failed on our side; submit it again.'))
        else await this.ctx.storage.setAlarm(Date.now() + 1000 * this.#errors)
      } catch {
        // Storage itself failing: the watchdog alarm, if set, tries again.
      }
    }
  }

  /** The record unless absent or past its expiry (then it is as good as deleted). */
  #live(): JobRow | null {
    const row = this.#store.row()
    return row && Date.now() < row.expiresAt ? row : null
  }

  async #alarm(): Promise<void> {
    const row = this.#store.row()
    if (!row) return
    const now = Date.now()
    if (now >= row.expiresAt) {
      this.#authorization = undefined
      await this.#store.forget()
      this.#notify()
      return
    }
    if (isEnded(row.state)) return this.#afterEnd(row, now)
    if (this.#running) return this.ctx.storage.setAlarm(now + WATCHDOG_MS)
    if (row.clientToken && this.#authorization === undefined) {
      await this.#fail(problem('job_interrupted', 'The job was interrupted and lost the token of your Authorization header, which is kept in memory only; submit the job again.'))
      return
    }
    this.#running = true
    try {
      this.#store.setRunning(now)
      this.#notify()
      // Takes over should this invocation be cut off; a live run finds #running and re-arms it.
      await this.ctx.storage.setAlarm(now + WATCHDOG_MS)
      const outcome = await this.#run(row)
      if (!this.#store.row()) return // expired (deleted) while it ran
      if (outcome.kind === 'done') {
        await this.#ended()
      } else if (outcome.kind === 'failed') {
        await this.#fail(outcome.problem)
      } else {
        // Progress resets the count: a long sweep answering "still running" is not failing.
        const retries = this.#store.row()!.retries + 1
        if (retries >= TASK_ATTEMPTS) {
          await this.#fail(outcome.problem)
        } else {
          this.#store.setRetries(retries, Date.now())
          await this.ctx.storage.setAlarm(Date.now() + outcome.delayS * 1000)
        }
      }
    } finally {
      this.#running = false
      this.#notify()
    }
  }

  /** One call of the task Worker, with progress asks while it runs; the answer stored when it is one. */
  async #run(row: JobRow): Promise<Outcome> {
    const binding = this.env[TASK_BINDING[row.task]]
    const headers: Record<string, string> = this.#authorization ? { authorization: this.#authorization } : {}
    const counts = { subrequests: 0, polls: 0 }
    const runId = this.#store.beginRun(Date.now())
    let outcome: Outcome | undefined
    try {
      const started = Date.now()
      let answered = false
      let wake = () => {}
      const answeredSignal = new Promise<void>((r) => (wake = r))
      counts.subrequests++
      const call = binding
        .fetch(`https://${row.task}.internal${taskPath(row)}`, { headers, signal: AbortSignal.timeout(TASK_CALL_TIMEOUT_MS) })
        .finally(() => {
          answered = true
          wake()
        })
      const polling = (async () => {
        while (counts.subrequests < MAX_SUBREQUESTS_PER_RUN) {
          await sleepUnless(pollDelayMs(Date.now() - started), answeredSignal)
          if (answered) return
          counts.subrequests++
          counts.polls++
          try {
            const res = await binding.fetch(`https://${row.task}.internal/internal/progress${row.path}`, { headers })
            if (res.ok) this.#progress(await res.json())
            else await res.body?.cancel()
          } catch {
            // Progress is a nicety: the call itself decides the job.
          }
        }
      })()
      let res: Response
      try {
        res = await call
      } catch {
        await polling
        return (outcome = { kind: 'retry', problem: problem('upstream_unavailable', `The ${row.task} Worker could not be reached.`), delayS: RETRY_DELAY_S })
      }
      await polling
      if (res.ok) {
        await this.#storeResult(res)
        return (outcome = { kind: 'done' })
      }
      const p = await taskProblem(res, row.task)
      if (res.status === 503) {
        const delayS = Math.min(MAX_RETRY_DELAY_S, Math.max(1, parseRetryAfter(res.headers.get('retry-after')) ?? RETRY_DELAY_S))
        return (outcome = { kind: 'retry', problem: p, delayS })
      }
      return (outcome = { kind: 'failed', problem: p })
    } finally {
      this.#store.endRun(runId, counts, outcome?.kind ?? 'error', Date.now())
    }
  }

  /** A task Worker's progress report, stored (and announced) when it moves forward. */
  #progress(report: unknown): void {
    const row = this.#store.row()
    if (!row || isEnded(row.state)) return
    const next = mergeProgress(row.progress, report)
    if (!next) return
    this.#store.setProgress(next, Date.now())
    this.#notify()
  }

  /** The answer's bytes, as they come, in chunks; then `done` in one transaction with the last piece. */
  async #storeResult(res: Response): Promise<void> {
    const contentType = res.headers.get('content-type') ?? 'application/octet-stream'
    this.#store.beginResult()
    let n = 0
    let bytes = 0
    let buffered: Uint8Array[] = []
    let size = 0
    const piece = (): Uint8Array | null => {
      if (size === 0) return null
      const out = new Uint8Array(size)
      let at = 0
      for (const b of buffered) {
        out.set(b, at)
        at += b.byteLength
      }
      buffered = []
      size = 0
      return out
    }
    if (res.body) {
      const reader = res.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (let at = 0; at < value.byteLength; ) {
          const take = Math.min(RESULT_CHUNK_BYTES - size, value.byteLength - at)
          buffered.push(value.subarray(at, at + take))
          size += take
          bytes += take
          at += take
          if (size === RESULT_CHUNK_BYTES) this.#store.addChunk(n++, piece()!)
        }
      }
    }
    const last = piece()
    this.#store.finish(last ? { n: n++, data: last } : null, contentType, bytes, Date.now())
    this.#authorization = undefined
    this.#notify()
  }

  async #fail(p: Problem): Promise<void> {
    this.#store.fail(p, Date.now())
    this.#authorization = undefined
    this.#notify()
    await this.#ended()
  }

  /** The job just ended: the first delivery of its callback (if it has one), then the alarm. */
  async #ended(): Promise<void> {
    const row = this.#store.row()
    if (!row) return
    if (row.callbackUrl !== undefined && this.#store.deliveries().length === 0) this.#store.startDelivery(crypto.randomUUID(), eventOf(row), Date.now())
    await this.#armAfterEnd(row)
  }

  /** The alarm of an ended job: the pending delivery's next attempt, else (and at the latest) the expiry. */
  async #armAfterEnd(row: JobRow): Promise<void> {
    const next = this.#store.pendingDelivery()?.nextAt
    await this.ctx.storage.setAlarm(next !== undefined ? Math.min(next, row.expiresAt) : row.expiresAt)
  }

  /** An ended job's alarm: a due attempt of its callback, then the next alarm. */
  async #afterEnd(row: JobRow, now: number): Promise<void> {
    const pending = this.#store.pendingDelivery()
    if (pending && (pending.nextAt ?? now) <= now) await this.#deliver(row, pending)
    await this.#armAfterEnd(row)
  }

  /** One attempt of delivery `d`, stored with what follows it: delivered, failed, or the next attempt's time. */
  async #deliver(row: JobRow, d: DeliveryRow): Promise<void> {
    const attempt = this.#store.attemptCount(d.n) + 1
    const attempts = positiveInt(this.env.CALLBACK_ATTEMPTS, DEFAULT_DELIVERY_ATTEMPTS)
    const secret = webhookSecrets(this.env.WEBHOOK_SECRET)[0]
    // Checked again: the allowed hosts may have changed since submission.
    const url = checkCallbackUrl(row.callbackUrl ?? '', this.env.CALLBACK_ALLOW_HOSTS)
    let outcome: AttemptOutcome
    let final = false
    if (!url.ok || secret === undefined) {
      final = !url.ok
      const error = !url.ok ? `callback_url refused: ${url.reason}` : 'no WEBHOOK_SECRET to sign the callback with'
      outcome = { ok: false, attempt: { at: new Date().toISOString(), error, latency_ms: 0 } }
    } else {
      // Should this invocation be cut off mid-attempt, the attempt is made again (at-least-once).
      await this.ctx.storage.setAlarm(Date.now() + CALLBACK_TIMEOUT_MS + WATCHDOG_MS)
      const origin = row.origin ?? ''
      const status = jobStatus(row, origin)
      const result = row.state === 'done' ? { contentType: row.contentType ?? 'application/octet-stream', bytes: row.resultBytes ?? 0, text: () => this.#resultText() } : null
      outcome = await attemptDelivery(url.url, callbackMessage(status, result, statusUrl(origin, row.id)), d.id, secret)
    }
    let next: { state: DeliveryState; nextAt?: number }
    if (outcome.ok) next = { state: 'delivered' }
    else if (final || attempt >= attempts) next = { state: 'failed' }
    else {
      const baseMs = positiveInt(this.env.CALLBACK_BASE_DELAY_MS, DEFAULT_CALLBACK_BASE_DELAY_MS)
      const delay = deliveryDelayMs(attempt, { baseMs, ...(outcome.retryAfterS !== undefined ? { retryAfterSeconds: outcome.retryAfterS } : {}) })
      next = { state: 'pending', nextAt: Date.now() + delay }
    }
    const a = outcome.attempt
    this.#store.recordAttempt(d.n, { at: Date.parse(a.at), ...(a.status !== undefined ? { status: a.status } : {}), ...(a.error !== undefined ? { error: a.error } : {}), latencyMs: a.latency_ms }, next)
    this.#notify()
  }

  /** The stored result as text (the callback sends at most MAX_CALLBACK_BODY_BYTES of it). */
  #resultText(): string {
    const decoder = new TextDecoder()
    let text = ''
    for (let n = 0; ; n++) {
      const data = this.#store.chunk(n)
      if (!data) break
      text += decoder.decode(data, { stream: true })
    }
    return text + decoder.decode()
  }

  /** Wakes every event stream waiting for a change. */
  #notify(): void {
    for (const wake of [...this.#listeners]) wake()
  }

  /** Resolves true on the next change, false after `ms` without one. */
  #nextChange(ms: number): { changed: Promise<boolean>; cancel: () => void } {
    let wake: (changed: boolean) => void = () => {}
    const changed = new Promise<boolean>((resolve) => (wake = resolve))
    const listener = () => done(true)
    const timer = setTimeout(() => done(false), ms)
    const done = (v: boolean) => {
      clearTimeout(timer)
      this.#listeners.delete(listener)
      wake(v)
    }
    this.#listeners.add(listener)
    return { changed, cancel: () => done(false) }
  }

  #result(row: JobRow): Response {
    if (row.state === 'failed') return problemResponse(row.problem ?? problem('internal_error', 'The job failed.'))
    if (row.state !== 'done') {
      return problemResponse(problem('job_not_ready', `The job is ${row.state}; its result is not ready yet. Follow ${'`'}/v1/jobs/${row.id}/events${'`'} or poll its status.`, { state: row.state }), { 'retry-after': '2' })
    }
    let n = 0
    const store = this.#store
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const data = store.chunk(n++)
        if (data) controller.enqueue(new Uint8Array(data))
        else controller.close()
      },
    })
    return new Response(body, {
      headers: { 'content-type': row.contentType ?? 'application/octet-stream', 'cache-control': 'private, max-age=300' },
    })
  }

  /**
   * The event stream: the latest progress, then each change as it is stored, then `done` or
   * `failed`, then the end; `: heartbeat` comments while nothing changes. A client that has seen
   * everything (`Last-Event-ID` of the last event) gets 204, which tells EventSource to stop.
   */
  #events(row: JobRow, request: Request, origin: string): Response {
    const after = lastEventId(request.headers.get('last-event-id'))
    if (seenAll(row, after)) return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
    const heartbeatMs = seconds(this.env.SSE_HEARTBEAT_SECONDS, DEFAULT_HEARTBEAT_S) * 1000
    const encoder = new TextEncoder()
    let open = true
    let waiting: { cancel: () => void } | undefined
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (text: string) => {
          if (!open) return
          try {
            controller.enqueue(encoder.encode(text))
          } catch {
            open = false
          }
        }
        void (async () => {
          let seen = after
          send(sseRetry(SSE_RETRY_MS))
          try {
            while (open) {
              const now = this.#live()
              if (!now) break
              for (const m of pendingEvents(now, seen, origin)) {
                send(sseMessage(m))
                seen = m.id
              }
              if (seenAll(now, seen)) break
              const next = this.#nextChange(heartbeatMs)
              waiting = next
              if (!(await next.changed)) send(sseComment('heartbeat'))
            }
          } finally {
            if (open) {
              open = false
              try {
                controller.close()
              } catch {
                // Already cancelled by the client.
              }
            }
          }
        })()
      },
      cancel: () => {
        open = false
        waiting?.cancel()
      },
    })
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
    })
  }
}

export function jobNotFound(): Problem {
  return problem('not_found', 'No job has this id: it never existed, or it expired.')
}

/** The task's problem as it answered it, or one naming the status when the body is not a problem. */
async function taskProblem(res: Response, task: JobTask): Promise<Problem> {
  const text = await res.text().catch(() => '')
  const type = res.headers.get('content-type') ?? ''
  if (type.startsWith(PROBLEM_CONTENT_TYPE)) {
    try {
      const p = JSON.parse(text) as Problem
      if (typeof p?.status === 'number' && typeof p.code === 'string') return p
    } catch {
      // Fall through.
    }
  }
  return problem(res.status >= 500 ? 'upstream_error' : 'internal_error', `The ${task} Worker answered ${res.status} without problem details.`)
}

/** The callback event of an ended job. */
function eventOf(row: JobRow): CallbackEvent {
  return row.state === 'done' ? 'job.done' : 'job.failed'
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

function seconds(value: string | undefined, fallback: number): number {
  const n = Number(value)
  return Number.isFinite(n) && n > 0 ? n : fallback
}

/** Sleeps `ms`, or less when `signal` resolves first. */
async function sleepUnless(ms: number, signal: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), signal])
  clearTimeout(timer)
}

/**
 * Where the job asks its task Worker: the synchronous path, except that a box runs under the
 * job's larger bound of upstream requests (`/internal/job/…`, MAX_JOB_BOX_REQUESTS), which the
 * gateway never forwards.
 */
function taskPath(row: { task: string; path: string }): string {
  return row.task === 'map-features' ? `/internal/job${row.path}` : row.path
}
