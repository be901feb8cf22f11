/**
 * @module
 * A job's record and what clients see of it: the status JSON, the event stream's next messages,
 * progress that never goes backwards. Pure: the Job object stores, this decides.
 */
import type { Problem } from '../../../shared/problem/problem'
import type { JobTask } from '../../../shared/http/task-params'
import type { DeliveryRow } from './job-store'
import type { SseMessage } from './sse'

export type JobState = 'queued' | 'running' | 'done' | 'failed'

export interface Progress {
  done: number
  total: number
}

/** One job, as its object stores it (never a token: `clientToken` only says the caller sent one). */
export interface JobRow {
  id: string
  task: JobTask
  /** The synchronous path and query the job stands for. */
  path: string
  /** Where the result is POSTed when the job ends (checked at submission: shared/webhooks). */
  callbackUrl?: string
  /** The public origin the job was submitted at. */
  origin?: string
  /** The caller sent its own token, which the object holds in memory only. */
  clientToken: boolean
  state: JobState
  progress: Progress
  /** Event id of the latest progress. */
  progressSeq: number
  /** Latest event id: the terminal event's once the job ended. */
  seq: number
  problem?: Problem
  contentType?: string
  resultBytes?: number
  /** Task calls in a row that were refused for now (503) or unreachable, without progress. */
  retries: number
  createdAt: number
  updatedAt: number
  expiresAt: number
}

export interface JobStatus {
  id: string
  task: JobTask
  state: JobState
  progress: Progress
  result_url: string
  problem?: Problem
  created_at: string
  updated_at: string
  expires_at: string
  /** Each delivery of the callback, oldest first (only when the job has a callback_url and ended). */
  deliveries?: DeliveryView[]
}

/** One delivery of a job's callback as the status shows it. */
export interface DeliveryView {
  id: string
  event: string
  state: DeliveryRow['state']
  /** While pending: when the next attempt is due. */
  next_attempt_at?: string
  attempts: { at: string; status?: number; error?: string; latency_ms: number }[]
}

/**
 * A stored delivery as the status shows it.
 * @example deliveryView({ n: 1, id: 'd', event: 'job.done', state: 'delivered', createdAt: 0, attempts: [{ at: 0, status: 204, latencyMs: 3 }] }).attempts[0] // { at: '1970-01-01T00:00:00.000Z', status: 204, latency_ms: 3 }
 */
export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    id: d.id,
    event: d.event,
    state: d.state,
    ...(d.state === 'pending' && d.nextAt !== undefined ? { next_attempt_at: new Date(d.nextAt).toISOString() } : {}),
    attempts: d.attempts.map((a) => ({
      at: new Date(a.at).toISOString(),
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.error !== undefined ? { error: a.error } : {}),
      latency_ms: a.latencyMs,
    })),
  }
}

export function isEnded(state: JobState): state is 'done' | 'failed' {
  return state === 'done' || state === 'failed'
}

/** `/v1/jobs/{id}` under `origin`. */
export function statusUrl(origin: string, id: string): string {
  return `${origin}/v1/jobs/${id}`
}

/**
 * What `GET /v1/jobs/{id}` answers.
 * @example jobStatus(row, 'https://api.example').result_url // 'https://api.example/v1/jobs/<id>/result'
 */
export function jobStatus(row: JobRow, origin: string, deliveries: readonly DeliveryRow[] = []): JobStatus {
  return {
    id: row.id,
    task: row.task,
    state: row.state,
    progress: { ...row.progress },
    result_url: `${statusUrl(origin, row.id)}/result`,
    ...(row.problem ? { problem: row.problem } : {}),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    expires_at: new Date(row.expiresAt).toISOString(),
    ...(deliveries.length > 0 ? { deliveries: deliveries.map(deliveryView) } : {}),
  }
}

/**
 * The messages a client that has seen events up to `after` still needs: the latest progress (if
 * newer), then the terminal `done` (data: the status) or `failed` (data: the problem). Progress a
 * client missed while away is superseded by the latest, so only that is sent.
 */
export function pendingEvents(row: JobRow, after: number, origin: string): SseMessage[] {
  const out: SseMessage[] = []
  if (row.progressSeq > after) out.push({ id: row.progressSeq, event: 'progress', data: row.progress })
  if (isEnded(row.state) && row.seq > after && row.seq > row.progressSeq) {
    out.push({ id: row.seq, event: row.state, data: row.state === 'done' ? jobStatus(row, origin) : row.problem })
  }
  return out
}

/** Whether a client that has seen events up to `after` has seen the job's last one. */
export function seenAll(row: JobRow, after: number): boolean {
  return isEnded(row.state) && after >= row.seq
}

/**
 * `prev` advanced by a task Worker's report, never backwards (a sweep restarted, or answered from
 * the cache after its object forgot the work, reports less): null when nothing changed or the
 * report is not a progress.
 * @example mergeProgress({ done: 3, total: 10 }, { done: 2, total: 12 }) // { done: 3, total: 12 }
 */
export function mergeProgress(prev: Progress, report: unknown): Progress | null {
  const r = report as Partial<Progress> | null
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined)
  const done = count(r?.done)
  const total = count(r?.total)
  if (done === undefined || total === undefined) return null
  const next = { done: Math.max(prev.done, done), total: 0 }
  next.total = Math.max(prev.total, total, next.done)
  return next.done === prev.done && next.total === prev.total ? null : next
}

/** The progress of a finished job: everything done (1 of 1 when the task never said). */
export function finalProgress(p: Progress): Progress {
  const total = Math.max(p.total, p.done, 1)
  return { done: total, total }
}
