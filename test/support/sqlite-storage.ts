/**
 * @module
 * A stand-in for the part of a SQLite Durable Object's storage that the job engine uses
 * (`sql.exec`, `transactionSync`, one alarm), on Node's built-in SQLite (`node:sqlite`). Only for
 * the Node unit tests of the pure engine (shared/engine/*.test.ts, which StrykerJS runs); the
 * engine's real suite runs in workerd on real Durable Objects (test/engine, the runtime projects).
 *
 * Nothing fires by itself: the alarm time is recorded (`alarm`, every write in `alarms`) and a test
 * runs the handler with {@link SqliteStorage.fireAlarm}, which clears the alarm first as workerd does.
 * @example
 * const storage = new SqliteStorage()
 * const runner = new JobRunner({ ctx: storage.state(), settings }, task)
 * await storage.fireAlarm(() => runner.alarm())
 */
import { DatabaseSync, type SQLInputValue, type SQLOutputValue } from 'node:sqlite'

type Row = Record<string, SQLOutputValue>

/** The cursor `sql.exec` answers: its rows already read (the engine reads every row it asks for). */
export class SqliteCursor<T extends Row = Row> implements Iterable<T> {
  readonly columnNames: string[]
  /** Rows changed by the statements of the `exec` call (SQLite's total_changes difference). */
  readonly rowsWritten: number
  readonly #rows: T[]
  #next = 0

  constructor(rows: T[], columnNames: string[], rowsWritten: number) {
    this.#rows = rows
    this.columnNames = columnNames
    this.rowsWritten = rowsWritten
  }

  get rowsRead(): number {
    return this.#rows.length
  }

  toArray(): T[] {
    const rest = this.#rows.slice(this.#next)
    this.#next = this.#rows.length
    return rest
  }

  /** The one row; throws, as workerd does, when there is none or more than one. */
  one(): T {
    const rest = this.toArray()
    if (rest.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rest.length === 0 ? 'no results' : 'multiple results'}.`)
    return rest[0]!
  }

  next(): IteratorResult<T> {
    return this.#next < this.#rows.length ? { done: false, value: this.#rows[this.#next++]! } : { done: true, value: undefined }
  }

  [Symbol.iterator](): Iterator<T> {
    return this
  }
}

/** `storage.sql` of one in-memory database. */
export class SqliteSql {
  readonly #db: DatabaseSync
  /** Statements run so far (a test's way to see that storage was, or was not, touched). */
  statements = 0
  /** Rows written so far (reads leave it alone: a test's way to see that work went on). */
  rowsWritten = 0

  constructor(db: DatabaseSync) {
    this.#db = db
  }

  /**
   * Runs `query` with `bindings` (`?` placeholders, in order). Several statements separated by `;`
   * run in order, as workerd runs them; the bindings and the rows are the last statement's.
   */
  exec<T extends Row = Row>(query: string, ...bindings: SQLInputValue[]): SqliteCursor<T> {
    const statements = splitStatements(query)
    if (statements.length === 0) throw new Error('sql.exec: no statement')
    const before = this.#changes()
    for (const s of statements.slice(0, -1)) this.#db.exec(s)
    const stmt = this.#db.prepare(statements.at(-1)!)
    const columns = stmt.columns().map((c) => c.name)
    // Plain objects, as workerd gives: node:sqlite rows have a null prototype.
    const rows = columns.length > 0 ? stmt.all(...bindings).map((r) => ({ ...r }) as T) : (stmt.run(...bindings), [])
    const written = this.#changes() - before
    this.statements += statements.length
    this.rowsWritten += written
    return new SqliteCursor(rows, columns, written)
  }

  #changes(): number {
    return Number((this.#db.prepare('SELECT total_changes() AS n').get() as { n: number }).n)
  }
}

/** The subset of `DurableObjectStorage` the job engine uses. */
export class SqliteStorage {
  readonly db = new DatabaseSync(':memory:')
  readonly sql = new SqliteSql(this.db)
  /** The armed alarm (ms since the epoch), or null. */
  alarm: number | null = null
  /** Every time `setAlarm` was given, in order. */
  readonly alarms: number[] = []
  #depth = 0

  /** Runs `fn` in one transaction (a savepoint when nested): committed when it returns, rolled back when it throws. */
  transactionSync<T>(fn: () => T): T {
    const name = `tx${++this.#depth}`
    this.db.exec(`SAVEPOINT ${name}`)
    try {
      const out = fn()
      this.db.exec(`RELEASE ${name}`)
      return out
    } catch (e) {
      this.db.exec(`ROLLBACK TO ${name}`)
      this.db.exec(`RELEASE ${name}`)
      throw e
    } finally {
      this.#depth--
    }
  }

  async setAlarm(at: number | Date): Promise<void> {
    const t = at instanceof Date ? at.getTime() : at
    this.alarm = t
    this.alarms.push(t)
  }

  async getAlarm(): Promise<number | null> {
    return this.alarm
  }

  async deleteAlarm(): Promise<void> {
    this.alarm = null
  }

  /** Runs an alarm handler as workerd does: the alarm is cleared, then the handler runs (and may arm it again). */
  async fireAlarm(handler: () => Promise<void>): Promise<void> {
    this.alarm = null
    await handler()
  }

  /** The Durable Object state the engine's host carries: only its `storage` is used. */
  state(): DurableObjectState {
    return { storage: this } as unknown as DurableObjectState
  }

  /** Row counts of `tables`, in order. */
  count(...tables: string[]): number[] {
    return tables.map((t) => Number(this.sql.exec(`SELECT count(*) AS n FROM ${t}`).one().n))
  }
}

/** `query` cut at the `;` that end statements (none inside quotes), empty statements dropped. */
function splitStatements(query: string): string[] {
  const out: string[] = []
  let current = ''
  let quote: string | null = null
  for (const ch of query) {
    if (quote) {
      if (ch === quote) quote = null
    } else if (ch === "'" || ch === '"') {
      quote = ch
    } else if (ch === ';') {
      out.push(current)
      current = ''
      continue
    }
    current += ch
  }
  out.push(current)
  return out.map((s) => s.trim()).filter(Boolean)
}
