/**
 * @module
 * The SQLite tables of one {@link MapFeaturesSweep} Durable Object: its job, its cells (the plan
 * and the split children), the features found (cell by cell) and one row per slice.
 *
 * Everything a sweep knows lives here, so an evicted or restarted object resumes exactly where it
 * stopped. Each cell outcome and its state change are written in one `transactionSync`.
 *
 * Schema:
 * - `job(id = 1, params, state, problem, headers, created_at, finished_at, max_requests)`: state
 *   is `running` | `done` | `failed`; `problem`/`headers` hold the final failure (or the honest
 *   `incomplete_result`, or `box_too_costly`) as JSON; `max_requests` is the most cells the job
 *   may ask (NULL: no bound). Never a token.
 * - `cells(id, w, s, e, n, state, parent, answered, slice)`: one upstream request, a box of any
 *   shape; state is `pending` | `done` | `split` | `saturated` | `failed`; unique on the box, so a
 *   replayed split adds nothing. (Cells were web-mercator tiles keyed by z, x, y until cells came
 *   to follow the box's shape: tables of that layout are dropped when found.)
 * - `cell_features(cell PRIMARY KEY, n, ids, features)`: each complete cell's features inside the
 *   box, one row per cell (one write per cell, not per feature): `ids` a JSON array, `features`
 *   their GeoJSON texts, newline-separated. Ids repeat across cells; the answer keeps the first.
 * - `slices(id, started_at, finished_at, budget, attempts, cells)`: upstream fetch attempts each
 *   invocation made (retries included), updated with every cell outcome.
 */
import type { Problem } from '../../../shared/http/problem'
import type { Bbox, Cell, CellOutcome } from '../../../shared/tiling'
import type { UpstreamMapFeature } from './feature-collection'

/** What one sweep answers: normalised request parameters. */
export interface SweepParams {
  bbox: Bbox
  /** Sorted, deduplicated; absent = no filter. */
  objectValues?: string[]
  /** Extra upstream fields for `properties`, in the order given. */
  fields: string[]
}

export type JobState = 'running' | 'done' | 'failed'
export type CellState = 'pending' | 'done' | 'split' | 'saturated' | 'failed'

export interface JobRow {
  params: SweepParams
  state: JobState
  problem?: Problem
  headers?: Record<string, string>
  createdAt: number
  finishedAt?: number
  /** Most cells (upstream requests) the job may ask; absent: no bound. */
  maxRequests?: number
}

/** What recording a cell's outcome did: the children it added, or that they would pass the bound. */
export type Recorded = { added: StoredCell[] } | { overLimit: { limit: number; needed: number; asked: number } }

export interface StoredCell extends Cell {
  id: number
}

export interface SliceRow {
  id: number
  startedAt: number
  finishedAt: number | null
  budget: number
  attempts: number
  cells: number
}

export interface Progress {
  pending: number
  done: number
  split: number
  saturated: number
  failed: number
  features: number
  slices: number
  requests: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  problem TEXT,
  headers TEXT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  max_requests INTEGER
);
CREATE TABLE IF NOT EXISTS cells (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  w REAL NOT NULL, s REAL NOT NULL, e REAL NOT NULL, n REAL NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  parent INTEGER,
  answered INTEGER,
  slice INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS cells_bbox ON cells (w, s, e, n);
CREATE INDEX IF NOT EXISTS cells_state ON cells (state);
CREATE TABLE IF NOT EXISTS cell_features (
  cell INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  ids TEXT NOT NULL,
  features TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  budget INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  cells INTEGER NOT NULL DEFAULT 0
);
`

type Row = Record<string, SqlStorageValue>

/**
 * Drops the tables of the tile layout (cells keyed by z, x, y; a job with no bound), left by an
 * older version of the object: they hold nothing the new one can resume, and a finished answer
 * lives on in KV.
 */
function dropTileLayout(sql: SqlStorage): void {
  const cells = sql.exec<Row>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cells'").toArray()[0]
  if (cells && /\bz INTEGER\b/.test(String(cells.sql))) {
    sql.exec('DROP TABLE IF EXISTS job; DROP TABLE IF EXISTS cells; DROP TABLE IF EXISTS cell_features; DROP TABLE IF EXISTS slices;')
  }
}

/** Typed access to one sweep's tables; every method is synchronous (SQLite in the object). */
export class SweepStore {
  readonly #storage: DurableObjectStorage
  readonly #sql: SqlStorage

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage
    this.#sql = storage.sql
    dropTileLayout(this.#sql)
    this.#sql.exec(SCHEMA)
  }

  job(): JobRow | undefined {
    const r = this.#sql.exec<Row>('SELECT * FROM job WHERE id = 1').toArray()[0]
    if (!r) return undefined
    return {
      params: JSON.parse(String(r.params)) as SweepParams,
      state: r.state as JobState,
      ...(r.problem != null ? { problem: JSON.parse(String(r.problem)) as Problem } : {}),
      ...(r.headers != null ? { headers: JSON.parse(String(r.headers)) as Record<string, string> } : {}),
      createdAt: Number(r.created_at),
      ...(r.finished_at != null ? { finishedAt: Number(r.finished_at) } : {}),
      ...(r.max_requests != null ? { maxRequests: Number(r.max_requests) } : {}),
    }
  }

  /**
   * Forgets everything and starts a new job from `cells` (the plan), in one transaction, to ask
   * at most `maxRequests` cells (default: no bound).
   */
  start(params: SweepParams, cells: readonly Cell[], now: number, maxRequests?: number): void {
    this.#storage.transactionSync(() => {
      this.#clear()
      this.#sql.exec('INSERT INTO job (id, params, state, created_at, max_requests) VALUES (1, ?, ?, ?, ?)', JSON.stringify(params), 'running', now, maxRequests ?? null)
      for (const c of cells) this.#insertCell(c, null)
    })
  }

  /** Empties every table (the object keeps no data). */
  clear(): void {
    this.#storage.transactionSync(() => this.#clear())
  }

  #clear(): void {
    this.#sql.exec('DELETE FROM job; DELETE FROM cells; DELETE FROM cell_features; DELETE FROM slices;')
  }

  /**
   * A failed job is retried, or one stopped at its bound goes on under a larger `maxRequests`:
   * failed cells go back to pending; work already done is kept.
   */
  retry(maxRequests?: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("UPDATE cells SET state = 'pending' WHERE state = 'failed'")
      this.#sql.exec("UPDATE job SET state = 'running', problem = NULL, headers = NULL, finished_at = NULL WHERE id = 1")
      if (maxRequests !== undefined) this.#sql.exec('UPDATE job SET max_requests = ? WHERE id = 1', maxRequests)
    })
  }

  pendingCells(): StoredCell[] {
    return this.#sql.exec<Row>("SELECT * FROM cells WHERE state = 'pending' ORDER BY id").toArray().map(toCell)
  }

  saturatedCells(): StoredCell[] {
    return this.#sql.exec<Row>("SELECT * FROM cells WHERE state = 'saturated' ORDER BY id").toArray().map(toCell)
  }

  beginSlice(budget: number, now: number): number {
    return Number(this.#sql.exec<Row>('INSERT INTO slices (started_at, budget) VALUES (?, ?) RETURNING id', now, budget).one().id)
  }

  /**
   * Writes one cell's outcome in one transaction: its features (as `render` writes them), its
   * children as pending cells, its new state, and the slice's attempt count so far. Answers the
   * children actually added (a replayed split adds none). A cell no longer pending (already
   * recorded) is left alone. A split whose children would take the job's cells past its bound
   * adds nothing and leaves the cell pending: answers `overLimit` (the job is then ended, see
   * {@link endSlice}).
   */
  recordOutcome(sliceId: number, cell: StoredCell, answered: number, outcome: CellOutcome<UpstreamMapFeature>, attempts: number, render: (f: UpstreamMapFeature) => string): Recorded {
    return this.#storage.transactionSync((): Recorded => {
      const added: StoredCell[] = []
      const current = this.#sql.exec<Row>('SELECT state FROM cells WHERE id = ?', cell.id).toArray()[0]
      this.#sql.exec('UPDATE slices SET attempts = ?, cells = cells + 1 WHERE id = ?', attempts, sliceId)
      if (current?.state !== 'pending') return { added }
      if (outcome.kind === 'split') {
        const limit = this.job()?.maxRequests
        const cells = Number(this.#sql.exec<Row>('SELECT count(*) AS n FROM cells').one().n)
        if (limit !== undefined && cells + outcome.children.length > limit) {
          return { overLimit: { limit, needed: cells + outcome.children.length, asked: this.requests() } }
        }
        for (const child of outcome.children) {
          const id = this.#insertCell(child, cell.id)
          if (id !== undefined) added.push({ ...child, id })
        }
      } else if (outcome.features.length > 0) {
        const ids = JSON.stringify(outcome.features.map((f) => String(f.id)))
        const texts = outcome.features.map(render).join('\n')
        this.#sql.exec('INSERT INTO cell_features (cell, n, ids, features) VALUES (?, ?, ?, ?) ON CONFLICT (cell) DO NOTHING', cell.id, outcome.features.length, ids, texts)
      }
      const state: CellState = outcome.kind === 'complete' ? 'done' : outcome.kind
      this.#sql.exec('UPDATE cells SET state = ?, answered = ?, slice = ? WHERE id = ?', state, answered, sliceId, cell.id)
      return { added }
    })
  }

  /** Marks a cell failed and notes the slice's attempts, in one transaction. */
  recordFailure(sliceId: number, cell: StoredCell, attempts: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("UPDATE cells SET state = 'failed', slice = ? WHERE id = ? AND state = 'pending'", sliceId, cell.id)
      this.#sql.exec('UPDATE slices SET attempts = ? WHERE id = ?', attempts, sliceId)
    })
  }

  /**
   * Closes a slice and moves the job on, in one transaction: `done` with `overLimit` (the job
   * reached its bound: a final answer, not a failure to retry), else `failed` with `problem`, else
   * `done` when no cell is pending (with `incomplete_result` in `problem` when some saturated),
   * else still running. Answers the job's new state.
   */
  endSlice(sliceId: number, attempts: number, now: number, outcome: { overLimit?: Problem; failure?: { problem: Problem; headers: Record<string, string> }; incomplete?: (saturated: StoredCell[]) => Problem }): JobState {
    return this.#storage.transactionSync(() => {
      this.#sql.exec('UPDATE slices SET attempts = ?, finished_at = ? WHERE id = ?', attempts, now, sliceId)
      if (outcome.overLimit) {
        this.#finish('done', now, outcome.overLimit, {})
        return 'done'
      }
      if (outcome.failure) {
        this.#finish('failed', now, outcome.failure.problem, outcome.failure.headers)
        return 'failed'
      }
      const pending = Number(this.#sql.exec<Row>("SELECT count(*) AS n FROM cells WHERE state = 'pending'").one().n)
      if (pending > 0) return 'running'
      const saturated = this.saturatedCells()
      if (saturated.length > 0 && outcome.incomplete) this.#finish('done', now, outcome.incomplete(saturated), {})
      else this.#finish('done', now)
      return 'done'
    })
  }

  /** Ends the job as failed outside a slice (e.g. no token, an unexpected error). */
  fail(problem: Problem, headers: Record<string, string>, now: number): void {
    this.#storage.transactionSync(() => this.#finish('failed', now, problem, headers))
  }

  #finish(state: JobState, now: number, problem?: Problem, headers?: Record<string, string>): void {
    this.#sql.exec(
      'UPDATE job SET state = ?, problem = ?, headers = ?, finished_at = ? WHERE id = 1',
      state,
      problem ? JSON.stringify(problem) : null,
      headers && Object.keys(headers).length > 0 ? JSON.stringify(headers) : null,
      now,
    )
  }

  /** Each stored feature's text by id; an id found in several cells keeps its first cell's. */
  featureTexts(): Map<string, string> {
    const byId = new Map<string, string>()
    for (const r of this.#sql.exec<Row>('SELECT ids, features FROM cell_features ORDER BY cell')) {
      const ids = JSON.parse(String(r.ids)) as string[]
      const texts = String(r.features).split('\n')
      ids.forEach((id, i) => {
        if (!byId.has(id)) byId.set(id, texts[i]!)
      })
    }
    return byId
  }

  slices(): SliceRow[] {
    return this.#sql
      .exec<Row>('SELECT * FROM slices ORDER BY id')
      .toArray()
      .map((r) => ({
        id: Number(r.id),
        startedAt: Number(r.started_at),
        finishedAt: r.finished_at == null ? null : Number(r.finished_at),
        budget: Number(r.budget),
        attempts: Number(r.attempts),
        cells: Number(r.cells),
      }))
  }

  /** Upstream fetch attempts of every slice so far. */
  requests(): number {
    return Number(this.#sql.exec<Row>('SELECT coalesce(sum(attempts), 0) AS n FROM slices').one().n)
  }

  progress(): Progress {
    const counts: Record<string, number> = {}
    for (const r of this.#sql.exec<Row>('SELECT state, count(*) AS n FROM cells GROUP BY state')) counts[String(r.state)] = Number(r.n)
    return {
      pending: counts.pending ?? 0,
      done: counts.done ?? 0,
      split: counts.split ?? 0,
      saturated: counts.saturated ?? 0,
      failed: counts.failed ?? 0,
      features: Number(this.#sql.exec<Row>('SELECT coalesce(sum(n), 0) AS n FROM cell_features').one().n),
      slices: Number(this.#sql.exec<Row>('SELECT count(*) AS n FROM slices').one().n),
      requests: this.requests(),
    }
  }

  #insertCell(c: Cell, parent: number | null): number | undefined {
    const [w, s, e, n] = c.bbox
    const r = this.#sql
      .exec<Row>('INSERT INTO cells (w, s, e, n, parent) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id', w, s, e, n, parent)
      .toArray()[0]
    return r ? Number(r.id) : undefined
  }
}

function toCell(r: Row): StoredCell {
  return { id: Number(r.id), bbox: [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] }
}
