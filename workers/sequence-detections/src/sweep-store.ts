/**
 * @module
 * The SQLite tables of one SequenceSweep Durable Object: the job (`meta`), the plan (`images`, one
 * row per image in upstream order) and the accounting (`slices`, one row per invocation that
 * called the upstream). Every change an image goes through is one statement or one transaction,
 * so an object evicted at any point resumes exactly where its storage says it stopped.
 *
 * Never stored: any access token (neither the server's nor a client's).
 */
import type { Problem } from '../../../shared/http/problem'
import type { SweepParams } from './params'

export type JobState = 'running' | 'done' | 'failed'
export type ImageState = 'pending' | 'done' | 'failed'

export interface JobMeta {
  name: string
  sequence_id: string
  fields: string[]
  pixels: boolean
  state: JobState
  total: number
  /** Child objects the sweep is split across (each sweeps a contiguous part); 1 = this object sweeps it. */
  shards: number
  /** Slices in a row that finished no image. */
  stalls: number
  /** Slices in a row that ended in an unexpected (non-upstream) error. */
  errors: number
  planned_at: number
  finished_at: number | null
  /** When failed: the problem and its headers (Retry-After). */
  failure: { problem: Problem; headers: Record<string, string> } | null
}

export interface PendingImage {
  position: number
  id: string
  /** Slices in which this image's requests failed after the client's retries. */
  tries: number
}

export interface SliceCounts {
  /** `get` calls. */
  requests: number
  /** fetch attempts (subrequests), retries included. */
  attempts: number
  inFlightPeak: number
}

export interface SliceRow {
  n: number
  kind: 'plan' | 'fetch'
  started_at: number
  finished_at: number | null
  requests: number
  attempts: number
  in_flight_peak: number
  images_done: number
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    sequence_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    pixels INTEGER NOT NULL,
    state TEXT NOT NULL,
    total INTEGER NOT NULL,
    shards INTEGER NOT NULL DEFAULT 1,
    stalls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    planned_at INTEGER NOT NULL,
    finished_at INTEGER,
    failure TEXT
  )`,
  `CREATE TABLE IF NOT EXISTS images (
    position INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    detections TEXT,
    slice INTEGER
  )`,
  `CREATE INDEX IF NOT EXISTS images_by_state ON images (state, position)`,
  `CREATE TABLE IF NOT EXISTS slices (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    requests INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    in_flight_peak INTEGER NOT NULL DEFAULT 0,
    images_done INTEGER NOT NULL DEFAULT 0
  )`,
]

type Row = Record<string, SqlStorageValue>

export class SweepStore {
  readonly #storage: DurableObjectStorage
  readonly #sql: SqlStorage

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage
    this.#sql = storage.sql
    this.ensureSchema()
  }

  /** Creates the tables (again after `deleteAll`). */
  ensureSchema(): void {
    for (const stmt of SCHEMA) this.#sql.exec(stmt)
  }

  meta(): JobMeta | null {
    const row = this.#sql.exec<Row>('SELECT * FROM meta WHERE id = 1').toArray()[0]
    if (!row) return null
    return {
      name: String(row.name),
      sequence_id: String(row.sequence_id),
      fields: String(row.fields).split(',').filter(Boolean),
      pixels: row.pixels === 1,
      state: row.state as JobState,
      total: Number(row.total),
      shards: Number(row.shards),
      stalls: Number(row.stalls),
      errors: Number(row.errors),
      planned_at: Number(row.planned_at),
      finished_at: row.finished_at === null ? null : Number(row.finished_at),
      failure: typeof row.failure === 'string' ? (JSON.parse(row.failure) as JobMeta['failure']) : null,
    }
  }

  /**
   * Stores the plan in one transaction: the job, every image as `pending` in upstream order, and
   * the planning call's accounting (slice kind `plan`; none for a part handed its ids).
   */
  plan(name: string, params: SweepParams, imageIds: readonly string[], counts: SliceCounts | null, startedAt: number, shards = 1): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec('DELETE FROM images')
      this.#sql.exec('DELETE FROM meta')
      this.#sql.exec(
        `INSERT INTO meta (id, name, sequence_id, fields, pixels, state, total, shards, planned_at) VALUES (1, ?, ?, ?, ?, 'running', ?, ?, ?)`,
        name,
        params.sequence_id,
        params.fields.join(','),
        params.pixels ? 1 : 0,
        imageIds.length,
        shards,
        Date.now(),
      )
      // One row per statement: SQL statements take at most 100 bound parameters.
      imageIds.forEach((id, position) => this.#sql.exec(`INSERT INTO images (position, id, state) VALUES (?, ?, 'pending')`, position, id))
      if (!counts) return
      this.#sql.exec(
        `INSERT INTO slices (kind, started_at, finished_at, requests, attempts, in_flight_peak) VALUES ('plan', ?, ?, ?, ?, ?)`,
        startedAt,
        Date.now(),
        counts.requests,
        counts.attempts,
        counts.inFlightPeak,
      )
    })
  }

  /** The first `limit` pending images in upstream order. */
  pending(limit: number): PendingImage[] {
    return this.#sql
      .exec<Row>(`SELECT position, id, tries FROM images WHERE state = 'pending' ORDER BY position LIMIT ?`, limit)
      .toArray()
      .map((r) => ({ position: Number(r.position), id: String(r.id), tries: Number(r.tries) }))
  }

  countByState(): Record<ImageState, number> {
    const out: Record<ImageState, number> = { pending: 0, done: 0, failed: 0 }
    for (const r of this.#sql.exec<Row>('SELECT state, COUNT(*) AS n FROM images GROUP BY state')) out[r.state as ImageState] = Number(r.n)
    return out
  }

  /** Opens the accounting row of a fetch slice; answers its number. */
  beginSlice(): number {
    return Number(this.#sql.exec<Row>(`INSERT INTO slices (kind, started_at) VALUES ('fetch', ?) RETURNING n`, Date.now()).one().n)
  }

  /**
   * One image done: its detections and the slice's running counts, in one transaction. The
   * `state = 'pending'` guard makes a repeated completion (an alarm run twice) a no-op.
   */
  complete(position: number, detectionsJson: string, slice: number, counts: SliceCounts): boolean {
    return this.#storage.transactionSync(() => {
      const written = this.#sql.exec(`UPDATE images SET state = 'done', detections = ?, slice = ? WHERE position = ? AND state = 'pending'`, detectionsJson, slice, position).rowsWritten
      this.#recordSlice(slice, counts, written > 0 ? 1 : 0)
      return written > 0
    })
  }

  /** An image whose requests failed after the client's retries: one more try, `failed` when `fail`. */
  imageFailed(position: number, fail: boolean): void {
    this.#sql.exec(`UPDATE images SET tries = tries + 1, state = CASE WHEN ? THEN 'failed' ELSE state END WHERE position = ? AND state = 'pending'`, fail ? 1 : 0, position)
  }

  endSlice(slice: number, counts: SliceCounts): void {
    this.#recordSlice(slice, counts, 0)
    this.#sql.exec('UPDATE slices SET finished_at = ? WHERE n = ?', Date.now(), slice)
  }

  #recordSlice(slice: number, counts: SliceCounts, addDone: number): void {
    this.#sql.exec(
      'UPDATE slices SET requests = ?, attempts = ?, in_flight_peak = MAX(in_flight_peak, ?), images_done = images_done + ? WHERE n = ?',
      counts.requests,
      counts.attempts,
      counts.inFlightPeak,
      addDone,
      slice,
    )
  }

  /** Sets the slice-outcome counters of the job. */
  setCounters(stalls: number, errors: number): void {
    this.#sql.exec('UPDATE meta SET stalls = ?, errors = ? WHERE id = 1', stalls, errors)
  }

  finish(): void {
    this.#sql.exec(`UPDATE meta SET state = 'done', finished_at = ?, stalls = 0, errors = 0, failure = NULL WHERE id = 1`, Date.now())
  }

  fail(failure: { problem: Problem; headers: Record<string, string> }): void {
    this.#sql.exec(`UPDATE meta SET state = 'failed', finished_at = ?, failure = ? WHERE id = 1`, Date.now(), JSON.stringify(failure))
  }

  /** A failed job runs again: failed images back to pending with fresh tries, finished ones kept. */
  retry(): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec(`UPDATE images SET state = 'pending', tries = 0 WHERE state = 'failed'`)
      this.#sql.exec(`UPDATE images SET tries = 0 WHERE state = 'pending'`)
      this.#sql.exec(`UPDATE meta SET state = 'running', finished_at = NULL, failure = NULL, stalls = 0, errors = 0 WHERE id = 1`)
    })
  }

  /** Image ids in upstream order. */
  ids(): string[] {
    return this.#sql.exec<Row>('SELECT id FROM images ORDER BY position').toArray().map((r) => String(r.id))
  }

  /** Image ids in upstream order and each one's stored detections JSON (`[]` text when none). */
  results(): { ids: string[]; detections: Array<[string, string]> } {
    const ids: string[] = []
    const detections: Array<[string, string]> = []
    for (const r of this.#sql.exec<Row>('SELECT id, detections FROM images ORDER BY position')) {
      ids.push(String(r.id))
      detections.push([String(r.id), typeof r.detections === 'string' ? r.detections : '[]'])
    }
    return { ids, detections }
  }

  /** Upstream fetch attempts made for this job so far, planning included. */
  totalAttempts(): number {
    return Number(this.#sql.exec<Row>('SELECT COALESCE(SUM(attempts), 0) AS n FROM slices').one().n)
  }

  slices(): SliceRow[] {
    return this.#sql.exec<Row>('SELECT * FROM slices ORDER BY n').toArray() as unknown as SliceRow[]
  }

  /** Forgets the job (storage and schema reset). */
  async clear(): Promise<void> {
    await this.#storage.deleteAll()
    this.ensureSchema()
  }
}
