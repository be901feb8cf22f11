/**
 * @module
 * How much upstream work one map-features question may cost (and how many helper objects its
 * rounds may use), read from the Worker's settings in this one place, and the 422 problem that
 * says a box would cost more.
 */
import { problem, type Problem } from '../../../shared/problem/problem'
import type { Env } from './env'

/**
 * Upstream requests one question may cost when `MAX_BOX_REQUESTS` is not set. The dense sample
 * district (9,032 features) costs 10; a box of 200 requests holds some 100,000 features or a
 * pile the sweep cannot separate. A request in, at most this many out.
 */
export const DEFAULT_MAX_BOX_REQUESTS = 200

/**
 * `MAX_BOX_REQUESTS` as a positive integer, else {@link DEFAULT_MAX_BOX_REQUESTS}.
 * @example maxBoxRequests({ MAX_BOX_REQUESTS: '50' }) // 50
 */
export function maxBoxRequests(env: Partial<Pick<Env, 'MAX_BOX_REQUESTS'>>): number {
  const n = Number(env.MAX_BOX_REQUESTS)
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_BOX_REQUESTS
}

/**
 * Upstream requests one question may cost when it runs as a job and `MAX_JOB_BOX_REQUESTS` is not
 * set: ten times the synchronous bound. A job outlives its request, so it may take longer.
 */
export const DEFAULT_MAX_JOB_BOX_REQUESTS = 2000

/**
 * `MAX_JOB_BOX_REQUESTS` as a positive integer, at least the synchronous bound, else
 * {@link DEFAULT_MAX_JOB_BOX_REQUESTS}.
 * @example maxJobBoxRequests({ MAX_JOB_BOX_REQUESTS: '5000' }) // 5000
 */
export function maxJobBoxRequests(env: Partial<Pick<Env, 'MAX_BOX_REQUESTS' | 'MAX_JOB_BOX_REQUESTS'>>): number {
  const n = Number(env.MAX_JOB_BOX_REQUESTS)
  return Math.max(maxBoxRequests(env), Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_JOB_BOX_REQUESTS)
}

/** Helper objects one box round uses at once when `BOX_HELPERS` is not set. */
export const DEFAULT_BOX_HELPERS = 16

/** Cells one helper object runs per call: its own 6 connections, one cell each. */
export const CELLS_PER_HELPER = 6

/**
 * `BOX_HELPERS` as a whole number from 0 (0: no helper), else {@link DEFAULT_BOX_HELPERS}.
 * @example boxHelpers({ BOX_HELPERS: '0' }) // 0
 */
export function boxHelpers(env: Partial<Pick<Env, 'BOX_HELPERS'>>): number {
  const n = env.BOX_HELPERS === undefined || env.BOX_HELPERS === '' ? NaN : Number(env.BOX_HELPERS)
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_BOX_HELPERS
}

/**
 * `MAX_CELL_SPAN_DEG` as a positive number, else `undefined`: no cell size limit (the default;
 * whether the upstream limits a `bbox` is not known, see docs/upstream.md).
 * @example maxCellSpanDeg({}) // undefined
 */
export function maxCellSpanDeg(env: Pick<Env, 'MAX_CELL_SPAN_DEG'>): number | undefined {
  const n = Number(env.MAX_CELL_SPAN_DEG)
  return env.MAX_CELL_SPAN_DEG !== undefined && Number.isFinite(n) && n > 0 ? n : undefined
}

/**
 * The 422 `box_too_costly` problem: `needed` requests at least (known after `asked` of them),
 * over `limit`; when a job's `jobLimit` would allow it, the problem says so (`job_limit`).
 * @example boxTooCostly({ limit: 200, needed: 360, asked: 0 }).status // 422
 */
export function boxTooCostly({ limit, needed, asked, jobLimit }: { limit: number; needed: number; asked: number; jobLimit?: number }): Problem {
  const detail =
    asked === 0
      ? `Sweeping this box starts with ${needed} upstream requests, over the limit of ${limit} per question.`
      : `This box holds more map features than ${limit} upstream requests can gather (the limit per question): after ${asked} requests it needs at least ${needed}.`
  // A synchronous request over its bound may still fit a job's larger one.
  const asJob = jobLimit !== undefined && jobLimit > limit && needed <= jobLimit
  const advice = asJob ? ` Run it as a job (POST /v1/jobs with task "map-features"), whose limit is ${jobLimit}, or ask for a smaller box.` : ' Ask for a smaller box or fewer object_values.'
  return problem('box_too_costly', detail + advice, { limit, needed_at_least: needed, ...(asJob ? { job_limit: jobLimit } : {}) })
}
