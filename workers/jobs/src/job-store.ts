/**
 * @module
 * The SQLite tables of one Job object (never a token in any column):
 * - `job`: one row, the record ({@link JobRow}); `problem` as JSON text.
 * - `result_chunks(n, data)`: the task's answer body as it came, in BLOBs of at most
 *   {@link RESULT_CHUNK_BYTES} (a value must stay under SQLite's 2 MB limit).
 * - `runs(n, started_at, finished_at, subrequests, polls, outcome)`: one row per alarm invocation
 *   that called the task Worker: its subrequests (the task call plus progress asks).
 * - `deliveries(n, id, event, state, next_at, created_at)`: each delivery of the callback (one
 *   when the job ends, one per redeliver); `state` pending, delivered, failed or superseded.
 * - `delivery_attempts(delivery, at, status, error, latency_ms)`: every attempt of each.
 *
 * The tables are made by {@link JobStore.create} only: an object asked about an id that was never
 * a job stays empty.
 */
import type { Problem } from '../../../shared/problem/problem'
import type { JobTask } from '../../../shared/http/task-params'
import { finalProgress, type JobRow, type JobState, type Progress } from './job-view'

/** Deliveries of a callback kept (and shown) per job: the latest ones. */
export const KEPT_DELIVERIES = 20

/** Bytes per stored piece of a result. */
export const RESULT_CHUNK_BYTES = 1024 * 1024

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job (
  id TEXT PRIMARY KEY,
  task TEXT NOT NULL,
  path TEXT NOT NULL,
  callback_url TEXT,
  origin TEXT,
  client_token INTEGER NOT NULL,
  state TEXT NOT NULL,
  done INTEGER NOT NULL,
  total INTEGER NOT NULL,
  progress_seq INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  problem TEXT,
  content_type TEXT,
  result_bytes INTEGER,
  retries INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS result_chunks (n INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  subrequests INTEGER NOT NULL DEFAULT 0,
  polls INTEGER NOT NULL DEFAULT 0,
  outcome TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  event TEXT NOT NULL,
  state TEXT NOT NULL,
  next_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS delivery_attempts (
  delivery INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  latency_ms INTEGER NOT NULL
);
`

type Row = Record<string, SqlStorageValue>

export interface NewJob {
  id: string
  task: JobTask
  path: string
  callbackUrl?: string
  /** The public origin the job was submitted at (for the URLs in its callback). */
  origin?: string
  clientToken: boolean
  progress: Progress
  createdAt: number
  expiresAt: number
}

export interface RunRow {
  n: number
  startedAt: number
  finishedAt?: number
  subrequests: number
  polls: number
  outcome?: string
}

export class JobStore {
  readonly #storage: DurableObjectStorage
  readonly #sql: SqlStorage
  #tables = false

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage
    this.#sql = storage.sql
  }

  /** Whether the tables exist (read once per instance, then remembered). */
  #ready(): boolean {
    if (!this.#tables) this.#tables = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job'").toArray().length > 0
    return this.#tables
  }

  create(job: NewJob): void {
    this.#sql.exec(SCHEMA)
    this.#tables = true
    this.#sql.exec(
      `INSERT INTO job (id, task, path, callback_url, origin, client_token, state, done, total, progress_seq, seq, created_at, updated_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, 1, 1, ?, ?, ?)`,
      job.id, job.task, job.path, job.callbackUrl ?? null, job.origin ?? null, job.clientToken ? 1 : 0, job.progress.done, job.progress.total, job.createdAt, job.createdAt, job.expiresAt,
    )
  }

  row(): JobRow | null {
    if (!this.#ready()) return null
    const r = this.#sql.exec<Row>('SELECT * FROM job LIMIT 1').toArray()[0]
    if (!r) return null
    return {
      id: String(r.id),
      task: String(r.task) as JobTask,
      path: String(r.path),
      ...(r.callback_url !== null ? { callbackUrl: String(r.callback_url) } : {}),
      ...(r.origin != null ? { origin: String(r.origin) } : {}),
      clientToken: r.client_token === 1,
      state: String(r.state) as JobState,
      progress: { done: Number(r.done), total: Number(r.total) },
      progressSeq: Number(r.progress_seq),
      seq: Number(r.seq),
      ...(r.problem !== null ? { problem: JSON.parse(String(r.problem)) as Problem } : {}),
      ...(r.content_type !== null ? { contentType: String(r.content_type) } : {}),
      ...(r.result_bytes !== null ? { resultBytes: Number(r.result_bytes) } : {}),
      retries: Number(r.retries),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      expiresAt: Number(r.expires_at),
    }
  }

  setRunning(now: number): void {
    this.#sql.exec("UPDATE job SET state = 'running', updated_at = ? WHERE state = 'queued'", now)
  }

  /** New progress: the next event id. */
  setProgress(p: Progress, now: number): void {
    this.#sql.exec('UPDATE job SET done = ?, total = ?, seq = seq + 1, progress_seq = seq + 1, retries = 0, updated_at = ? WHERE 1', p.done, p.total, now)
  }

  setRetries(retries: number, now: number): void {
    this.#sql.exec('UPDATE job SET retries = ?, updated_at = ? WHERE 1', retries, now)
  }

  /** Drops the pieces of a result an interrupted call had begun to store. */
  beginResult(): void {
    this.#sql.exec('DELETE FROM result_chunks')
  }

  addChunk(n: number, data: Uint8Array): void {
    this.#sql.exec('INSERT OR REPLACE INTO result_chunks (n, data) VALUES (?, ?)', n, copy(data))
  }

  /** The last piece, full progress (a progress event if it changed) and the `done` event, at once. */
  finish(last: { n: number; data: Uint8Array } | null, contentType: string, bytes: number, now: number): void {
    this.#storage.transactionSync(() => {
      const row = this.row()
      if (!row) return
      if (last) this.addChunk(last.n, last.data)
      const p = finalProgress(row.progress)
      if (p.done !== row.progress.done || p.total !== row.progress.total) this.setProgress(p, now)
      this.#sql.exec("UPDATE job SET state = 'done', content_type = ?, result_bytes = ?, seq = seq + 1, updated_at = ? WHERE 1", contentType, bytes, now)
    })
  }

  /** The `failed` event; the pieces of a result, if any, are dropped. */
  fail(p: Problem, now: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec('DELETE FROM result_chunks')
      this.#sql.exec("UPDATE job SET state = 'failed', problem = ?, seq = seq + 1, updated_at = ? WHERE 1", JSON.stringify(p), now)
    })
  }

  chunk(n: number): ArrayBuffer | null {
    const r = this.#sql.exec<Row>('SELECT data FROM result_chunks WHERE n = ?', n).toArray()[0]
    return r ? (r.data as ArrayBuffer) : null
  }

  beginRun(now: number): number {
    return Number(this.#sql.exec<Row>('INSERT INTO runs (started_at) VALUES (?) RETURNING n', now).one().n)
  }

  endRun(n: number, counts: { subrequests: number; polls: number }, outcome: string, now: number): void {
    this.#sql.exec('UPDATE runs SET finished_at = ?, subrequests = ?, polls = ?, outcome = ? WHERE n = ?', now, counts.subrequests, counts.polls, outcome, n)
  }

  runs(): RunRow[] {
    if (!this.#ready()) return []
    return this.#sql.exec<Row>('SELECT * FROM runs ORDER BY n').toArray().map((r) => ({
      n: Number(r.n),
      startedAt: Number(r.started_at),
      ...(r.finished_at !== null ? { finishedAt: Number(r.finished_at) } : {}),
      subrequests: Number(r.subrequests),
      polls: Number(r.polls),
      ...(r.outcome !== null ? { outcome: String(r.outcome) } : {}),
    }))
  }

  /**
   * A new delivery of the callback, due at `now`; one still pending is superseded by it. Only the
   * latest {@link KEPT_DELIVERIES} are kept, so redeliver called in a loop cannot grow the status.
   */
  startDelivery(id: string, event: string, now: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("UPDATE deliveries SET state = 'superseded', next_at = NULL WHERE state = 'pending'")
      this.#sql.exec("INSERT INTO deliveries (id, event, state, next_at, created_at) VALUES (?, ?, 'pending', ?, ?)", id, event, now, now)
      this.#sql.exec('DELETE FROM deliveries WHERE n <= (SELECT max(n) FROM deliveries) - ?', KEPT_DELIVERIES)
      this.#sql.exec('DELETE FROM delivery_attempts WHERE delivery NOT IN (SELECT n FROM deliveries)')
    })
  }

  /** The delivery still pending, if any. */
  pendingDelivery(): DeliveryRow | null {
    if (!this.#ready()) return null
    const r = this.#sql.exec<Row>("SELECT * FROM deliveries WHERE state = 'pending' ORDER BY n DESC LIMIT 1").toArray()[0]
    return r ? deliveryRow(r) : null
  }

  /**
   * One attempt of delivery `n`, and what follows: `next` its new state, `nextAt` the next
   * attempt's time while pending. A delivery superseded meanwhile keeps its state.
   */
  recordAttempt(n: number, a: { at: number; status?: number; error?: string; latencyMs: number }, next: { state: DeliveryState; nextAt?: number }): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec('INSERT INTO delivery_attempts (delivery, at, status, error, latency_ms) VALUES (?, ?, ?, ?, ?)', n, a.at, a.status ?? null, a.error ?? null, a.latencyMs)
      this.#sql.exec("UPDATE deliveries SET state = ?, next_at = ? WHERE n = ? AND state = 'pending'", next.state, next.state === 'pending' ? (next.nextAt ?? null) : null, n)
    })
  }

  /** Attempts made so far by delivery `n`. */
  attemptCount(n: number): number {
    return Number(this.#sql.exec<Row>('SELECT count(*) AS c FROM delivery_attempts WHERE delivery = ?', n).one().c)
  }

  /** Every delivery, oldest first, with its attempts. */
  deliveries(): DeliveryRow[] {
    if (!this.#ready()) return []
    const attempts = this.#sql.exec<Row>('SELECT * FROM delivery_attempts ORDER BY at, rowid').toArray()
    return this.#sql.exec<Row>('SELECT * FROM deliveries ORDER BY n').toArray().map((r) => ({
      ...deliveryRow(r),
      attempts: attempts
        .filter((a) => a.delivery === r.n)
        .map((a) => ({ at: Number(a.at), ...(a.status !== null ? { status: Number(a.status) } : {}), ...(a.error !== null ? { error: String(a.error) } : {}), latencyMs: Number(a.latency_ms) })),
    }))
  }

  /** Everything this object stored, its alarm included. */
  async forget(): Promise<void> {
    await this.#storage.deleteAlarm()
    await this.#storage.deleteAll()
    this.#tables = false
  }
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'superseded'

export interface DeliveryRow {
  n: number
  id: string
  event: string
  state: DeliveryState
  nextAt?: number
  createdAt: number
  attempts: { at: number; status?: number; error?: string; latencyMs: number }[]
}

function deliveryRow(r: Row): DeliveryRow {
  return {
    n: Number(r.n),
    id: String(r.id),
    event: String(r.event),
    state: String(r.state) as DeliveryState,
    ...(r.next_at !== null ? { nextAt: Number(r.next_at) } : {}),
    createdAt: Number(r.created_at),
    attempts: [],
  }
}

/** A chunk's own bytes (a view into a larger buffer would store all of it). */
function copy(data: Uint8Array): ArrayBuffer {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? (data.buffer as ArrayBuffer) : (data.slice().buffer as ArrayBuffer)
}
