/**
 * @module
 * The SQLite tables of one job object: the job, its units (the plan and the children units add)
 * and one row per slice. Everything a job knows lives here, so an evicted object resumes exactly
 * where it stopped: each unit's outcome and its state change are one transaction.
 *
 * Schema (never a token in any column):
 * - `job(id = 1, name, role, params, state, shards, problem, headers, stalls, errors, created_at,
 *   updated_at, finished_at)`: `role` is `whole` (this object runs every unit), `coordinator` (its
 *   parts run them) or `part`; `state` is `running` | `done` | `failed`.
 * - `units(id, key UNIQUE, unit, parent, state, tries, result, slice)`: `state` is `pending` |
 *   `done` | `split` (replaced by its children) | `failed`; `result` the unit's text. The unique
 *   key makes a replayed split add nothing.
 * - `slices(n, kind, started_at, finished_at, budget, requests, attempts, retries,
 *   in_flight_peak, units)`: upstream calls per invocation (`plan` or `run`), retries included.
 */
import type { Problem } from '../problem/problem'

export type JobState = 'running' | 'done' | 'failed'
export type JobRole = 'whole' | 'coordinator' | 'part'
export type UnitState = 'pending' | 'done' | 'split' | 'failed'

export interface JobRow {
  name: string
  role: JobRole
  /** The job's parameters as the task normalised them (JSON text: compared as text). */
  params: string
  state: JobState
  /** Parts a coordinator split the units across (1 otherwise). */
  shards: number
  /** Started with a client's own token: it never goes on with the server's. */
  client: boolean
  /** Most upstream requests (retries included) the job may cost; absent: no bound. */
  maxRequests?: number
  /** Ended because it would have cost more than `maxRequests`. */
  overLimit: boolean
  problem?: Problem
  headers?: Record<string, string>
  /** Slices in a row that finished no unit. */
  stalls: number
  /** Slices in a row cut short by an error of ours. */
  errors: number
  createdAt: number
  updatedAt: number
  finishedAt?: number
}

export interface StoredUnit {
  id: number
  key: string
  /** The unit as the task gave it, JSON text. */
  unit: string
  tries: number
}

/** What one slice spent upstream, as the GraphClient counts it. */
export interface SliceCounts {
  requests: number
  attempts: number
  retries: number
  inFlightPeak: number
}

export interface SliceRow extends SliceCounts {
  n: number
  kind: 'plan' | 'run'
  startedAt: number
  finishedAt: number | null
  budget: number
  units: number
}

export interface UnitCounts {
  pending: number
  done: number
  split: number
  failed: number
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    shards INTEGER NOT NULL DEFAULT 1,
    client INTEGER NOT NULL DEFAULT 0,
    max_requests INTEGER,
    over_limit INTEGER NOT NULL DEFAULT 0,
    problem TEXT,
    headers TEXT,
    stalls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
  )`,
  `CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    unit TEXT NOT NULL,
    parent INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    tries INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    slice INTEGER
  )`,
  `CREATE INDEX IF NOT EXISTS units_by_state ON units (state, id)`,
  `CREATE TABLE IF NOT EXISTS slices (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    budget INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    in_flight_peak INTEGER NOT NULL DEFAULT 0,
    units INTEGER NOT NULL DEFAULT 0
  )`,
]

type Row = Record<string, SqlStorageValue>

/** Typed, synchronous access to one job object's tables. */
export class JobStore {
  readonly #storage: DurableObjectStorage
  readonly #sql: SqlStorage

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage
    this.#sql = storage.sql
    for (const stmt of SCHEMA) this.#sql.exec(stmt)
  }

  job(): JobRow | undefined {
    const r = this.#sql.exec<Row>('SELECT * FROM job WHERE id = 1').toArray()[0]
    if (!r) return undefined
    return {
      name: String(r.name),
      role: r.role as JobRole,
      params: String(r.params),
      state: r.state as JobState,
      shards: Number(r.shards),
      client: r.client === 1,
      overLimit: r.over_limit === 1,
      ...(r.max_requests != null ? { maxRequests: Number(r.max_requests) } : {}),
      ...(r.problem != null ? { problem: JSON.parse(String(r.problem)) as Problem } : {}),
      ...(r.headers != null ? { headers: JSON.parse(String(r.headers)) as Record<string, string> } : {}),
      stalls: Number(r.stalls),
      errors: Number(r.errors),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      ...(r.finished_at != null ? { finishedAt: Number(r.finished_at) } : {}),
    }
  }

  /**
   * Forgets everything and stores a new job with its units (each `[key, unit JSON]`, in plan
   * order) and, when planning called the upstream, that call's accounting. One transaction.
   */
  start(job: { name: string; role: JobRole; params: string; shards?: number; client?: boolean; maxRequests?: number }, units: ReadonlyArray<readonly [string, string]>, now: number, planCounts?: SliceCounts): void {
    this.#storage.transactionSync(() => {
      this.#clear()
      this.#sql.exec(
        `INSERT INTO job (id, name, role, params, state, shards, client, max_requests, created_at, updated_at) VALUES (1, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
        job.name,
        job.role,
        job.params,
        job.shards ?? 1,
        job.client ? 1 : 0,
        job.maxRequests ?? null,
        now,
        now,
      )
      // One row per statement: SQL statements take at most 100 bound parameters.
      for (const [key, unit] of units) this.#sql.exec('INSERT INTO units (key, unit) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, unit)
      if (planCounts) {
        this.#sql.exec(
          `INSERT INTO slices (kind, started_at, finished_at, requests, attempts, retries, in_flight_peak) VALUES ('plan', ?, ?, ?, ?, ?, ?)`,
          now,
          now,
          planCounts.requests,
          planCounts.attempts,
          planCounts.retries,
          planCounts.inFlightPeak,
        )
      }
    })
  }

  /** Empties every table. */
  clear(): void {
    this.#storage.transactionSync(() => this.#clear())
  }

  #clear(): void {
    this.#sql.exec('DELETE FROM job; DELETE FROM units; DELETE FROM slices;')
  }

  /**
   * A failed job runs again, under `maxRequests` (its own when undefined): failed units back to
   * pending with fresh tries, finished ones kept.
   */
  retry(now: number, maxRequests?: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec(`UPDATE units SET state = 'pending', tries = 0 WHERE state IN ('failed', 'pending')`)
      this.#sql.exec(`UPDATE job SET state = 'running', problem = NULL, headers = NULL, finished_at = NULL, stalls = 0, errors = 0, updated_at = ? WHERE id = 1`, now)
      if (maxRequests !== undefined) this.#sql.exec('UPDATE job SET max_requests = ? WHERE id = 1', maxRequests)
    })
  }

  /** The first `limit` pending units, in plan order. */
  pending(limit = -1): StoredUnit[] {
    return this.#sql
      .exec<Row>(`SELECT id, key, unit, tries FROM units WHERE state = 'pending' ORDER BY id LIMIT ?`, limit)
      .toArray()
      .map((r) => ({ id: Number(r.id), key: String(r.key), unit: String(r.unit), tries: Number(r.tries) }))
  }

  counts(): UnitCounts {
    const out: UnitCounts = { pending: 0, done: 0, split: 0, failed: 0 }
    for (const r of this.#sql.exec<Row>('SELECT state, count(*) AS n FROM units GROUP BY state')) out[r.state as UnitState] = Number(r.n)
    return out
  }

  /** The finished units in plan order, each its JSON and its result text. */
  results(): Array<{ unit: string; result: string }> {
    const out: Array<{ unit: string; result: string }> = []
    for (const r of this.#sql.exec<Row>(`SELECT unit, result FROM units WHERE state = 'done' ORDER BY id`)) out.push({ unit: String(r.unit), result: String(r.result ?? '') })
    return out
  }

  /**
   * Finished units not yet in `seen` (their ids), at most `limit`, in plan order: what a reader
   * following a running job has not read yet. Units finish in any order (6 in flight), so the
   * cursor is the set of ids read, not the highest one; a job's units are few (cells, images).
   * @example const fresh = store.resultsNotIn([3, 5], 4) // [{ id: 4, result: '…' }, { id: 6, result: '…' }]
   */
  resultsNotIn(seen: readonly number[], limit = -1): Array<{ id: number; result: string }> {
    return this.#sql
      .exec<Row>(`SELECT id, result FROM units WHERE state = 'done' AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`, JSON.stringify(seen), limit)
      .toArray()
      .map((r) => ({ id: Number(r.id), result: String(r.result ?? '') }))
  }

  /** Every unit's JSON, in plan order (the units a coordinator hands its parts). */
  units(): string[] {
    return this.#sql.exec<Row>('SELECT unit FROM units WHERE parent IS NULL ORDER BY id').toArray().map((r) => String(r.unit))
  }

  beginSlice(kind: 'run', budget: number, now: number): number {
    return Number(this.#sql.exec<Row>('INSERT INTO slices (kind, started_at, budget) VALUES (?, ?, ?) RETURNING n', kind, now, budget).one().n)
  }

  /**
   * One unit's outcome in one transaction: its result or its children (as pending units), its new
   * state and the slice's counts. A unit no longer pending (an alarm run twice) is left alone.
   * Answers the children actually added.
   */
  complete(slice: number, unit: StoredUnit, outcome: { result?: string; children?: ReadonlyArray<readonly [string, string]> }, counts: SliceCounts): StoredUnit[] {
    return this.#storage.transactionSync(() => {
      const added: StoredUnit[] = []
      const current = this.#sql.exec<Row>('SELECT state FROM units WHERE id = ?', unit.id).toArray()[0]
      const fresh = current?.state === 'pending'
      this.#recordSlice(slice, counts, fresh ? 1 : 0)
      if (!fresh) return added
      if (outcome.children) {
        for (const [key, json] of outcome.children) {
          const r = this.#sql.exec<Row>('INSERT INTO units (key, unit, parent) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id', key, json, unit.id).toArray()[0]
          if (r) added.push({ id: Number(r.id), key, unit: json, tries: 0 })
        }
        this.#sql.exec(`UPDATE units SET state = 'split', slice = ? WHERE id = ?`, slice, unit.id)
      } else {
        this.#sql.exec(`UPDATE units SET state = 'done', result = ?, slice = ? WHERE id = ?`, outcome.result ?? '', slice, unit.id)
      }
      return added
    })
  }

  /** A unit whose upstream call failed: one more try, `failed` when `last`. */
  unitFailed(unit: StoredUnit, last: boolean, slice: number, counts: SliceCounts): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec(`UPDATE units SET tries = tries + 1, state = CASE WHEN ? THEN 'failed' ELSE state END, slice = ? WHERE id = ? AND state = 'pending'`, last ? 1 : 0, slice, unit.id)
      this.#recordSlice(slice, counts, 0)
    })
  }

  endSlice(slice: number, counts: SliceCounts, now: number): void {
    this.#recordSlice(slice, counts, 0)
    this.#sql.exec('UPDATE slices SET finished_at = ? WHERE n = ?', now, slice)
  }

  #recordSlice(slice: number, c: SliceCounts, addUnits: number): void {
    this.#sql.exec(
      'UPDATE slices SET requests = ?, attempts = ?, retries = ?, in_flight_peak = MAX(in_flight_peak, ?), units = units + ? WHERE n = ?',
      c.requests,
      c.attempts,
      c.retries,
      c.inFlightPeak,
      addUnits,
      slice,
    )
  }

  setCounters(stalls: number, errors: number, now: number): void {
    this.#sql.exec('UPDATE job SET stalls = ?, errors = ?, updated_at = ? WHERE id = 1', stalls, errors, now)
  }

  /** Ends the job: `done`, or `failed` with its problem (and headers such as Retry-After), `overLimit` when its bound ended it. */
  finish(state: 'done' | 'failed', now: number, failure?: { problem: Problem; headers?: Record<string, string> }, overLimit = false): void {
    const headers = failure?.headers && Object.keys(failure.headers).length > 0 ? JSON.stringify(failure.headers) : null
    this.#sql.exec(
      'UPDATE job SET state = ?, problem = ?, headers = ?, finished_at = ?, updated_at = ?, stalls = 0, errors = 0, over_limit = ? WHERE id = 1',
      state,
      failure ? JSON.stringify(failure.problem) : null,
      headers,
      now,
      now,
      overLimit ? 1 : 0,
    )
  }

  /** Upstream calls of every slice so far (planning included): `[attempts, retries]`. */
  spent(): { requests: number; retries: number } {
    const r = this.#sql.exec<Row>('SELECT coalesce(sum(attempts), 0) AS a, coalesce(sum(retries), 0) AS r FROM slices').one()
    return { requests: Number(r.a), retries: Number(r.r) }
  }

  slices(): SliceRow[] {
    return this.#sql
      .exec<Row>('SELECT * FROM slices ORDER BY n')
      .toArray()
      .map((r) => ({
        n: Number(r.n),
        kind: r.kind as 'plan' | 'run',
        startedAt: Number(r.started_at),
        finishedAt: r.finished_at == null ? null : Number(r.finished_at),
        budget: Number(r.budget),
        requests: Number(r.requests),
        attempts: Number(r.attempts),
        retries: Number(r.retries),
        inFlightPeak: Number(r.in_flight_peak),
        units: Number(r.units),
      }))
  }
}
