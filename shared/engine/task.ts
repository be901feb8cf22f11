/**
 * @module
 * What a task gives the job engine: three pure-ish functions over its own parameters and units.
 * The engine owns everything else (storage, slices, budgets, retries, waiters, sharding).
 */
import type { Problem } from '../problem/problem'
import type { GraphClient } from '../upstream/client'
import type { UpstreamError } from '../upstream/errors'

/** A problem and the headers that go with it (e.g. Retry-After). */
export interface Failure {
  problem: Problem
  headers?: Record<string, string>
}

/** What one unit produced: its result as text, or the narrower units to run in its place. */
export type UnitOutcome<U> = { result: string; children?: undefined } | { children: U[]; result?: undefined }

/** One finished unit and its result text, in plan order. */
export interface UnitResult<U> {
  unit: U
  result: string
}

/**
 * A fan-out task. `P` are its normalised parameters (JSON-serialisable), `U` its unit of work (one
 * upstream question, JSON-serialisable).
 * @example
 * const task: Task<{ ids: string[] }, string> = {
 *   plan: async (p) => ({ ok: true, units: p.ids }),
 *   unitKey: (id) => id,
 *   runUnit: async (id, _p, upstream) => ({ result: JSON.stringify(await upstream.get(`/${id}`)) }),
 *   answer: (_p, results) => ({ ok: true, body: `[${results.map((r) => r.result).join(',')}]` }),
 * }
 */
export interface Task<P, U> {
  /** The units of a job; may ask the upstream (a sequence's image ids). Throws UpstreamError. */
  plan(params: P, upstream: GraphClient): Promise<{ ok: true; units: U[] } | ({ ok: false } & Failure)>
  /** A unit's identity within its job: a unit added twice (a replayed split) runs once. */
  unitKey(unit: U): string
  /**
   * Runs one unit against the upstream. Throws UpstreamError when the upstream fails. May run in
   * another object (a helper, `EngineOptions.helpers`): it depends on its arguments alone.
   */
  runUnit(unit: U, params: P, upstream: GraphClient): Promise<UnitOutcome<U>>
  /** The whole answer from every finished unit, in plan order (children after their parents' peers), or why there is none. */
  answer(params: P, results: UnitResult<U>[]): { ok: true; body: string } | ({ ok: false } & Failure)
  /** The problem for a unit that failed for good; default: the upstream error's own problem. */
  failure?(e: UpstreamError, unit: U | undefined, tokenSource: 'server' | 'client'): Failure
  /**
   * The problem when a job would cost more than its bound of upstream requests (see
   * `RunOptions.maxRequests`): `needed` at least, known after `asked` of them.
   */
  overLimit?(o: { limit: number; needed: number; asked: number }): Failure
  /** Upstream requests one unit makes at once (default 1): a slice starts a unit only while they fit. */
  requestsPerUnit?(params: P): number
}
