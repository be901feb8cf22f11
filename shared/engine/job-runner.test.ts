/**
 * The job engine in Node, on a made-up task (image sizes of a sequence), for mutation testing: the
 * storage is test/support/sqlite-storage.ts (Node's SQLite standing in for a Durable Object's),
 * the upstream a real GraphClient whose fetch answers from a table below (so retries, budgets and
 * lastFailure are the client's own), the time `Date.now` held still and moved by the test, and
 * the alarms fired by the test, one at a time, earliest first. Expected answers are written out
 * from the table, never computed with the engine. The engine's suite on real Durable Objects is
 * test/engine (workerd).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SqliteStorage } from '../../test/support/sqlite-storage'
import { problem } from '../problem/problem'
import type { GraphClient } from '../upstream/client'
import { UpstreamError, type UpstreamReason } from '../upstream/errors'
import { subrequestBudget, type UpstreamSettings } from '../upstream/request-client'
import { ENGINE_DEFAULTS, JobRunner, partName, type EngineOptions, type HelperStub, type JobAnswer, type PartAnswer, type PartStub } from './job-runner'
import type { Task } from './task'

const T0 = 1_700_000_000_000
const SERVER = 'MLY|1|servertokenservertokenserver'
const CLIENT = 'MLY|2|clienttokenclienttokenclient'

// ---------------------------------------------------------------------------------------------
// The upstream: a table of sequences and images behind a fetch, with scripted faults per path.

/** Image `iN` is N + 1000 pixels wide and N + 500 high; `z1` is 0 wide, `z2` 0 high (the task's answer refuses both). */
const size = (n: number) => ({ id: `i${n}`, width: 1000 + n, height: 500 + n })
const sizes = (...ns: number[]) => ns.map(size)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const ids = (...ns: number[]) => ns.map((n) => `i${n}`)

const SEQUENCES: Record<string, string[]> = {
  s1: ids(1),
  s3: ids(1, 2, 3),
  s4: ids(1, 2, 3, 4),
  s5: ids(1, 2, 3, 4, 5),
  s7: ids(...range(1, 7)),
  s20: ids(...range(1, 20)),
  sGap: ['i1', 'nope', 'i3'],
  sZero: ['i1', 'z1'],
  sFlat: ['i1', 'z2'],
  sEmpty: [],
}
const IMAGES: Record<string, { width: number; height: number }> = { z1: { width: 0, height: 10 }, z2: { width: 10, height: 0 } }
for (const n of range(1, 120)) IMAGES[`i${n}`] = { width: 1000 + n, height: 500 + n }

type Answer = { status: number; body?: unknown; headers?: Record<string, string> }
type Reply = Answer | 'table'
const notFound = (id: string): Answer => ({ status: 400, body: { error: { code: 100, message: `Unsupported get request. Object with ID '${id}' does not exist` } } })

class FakeGraph {
  readonly calls: Array<{ path: string; query: Record<string, string>; auth: string | null }> = []
  /** Replies given before the table's, per path, one per call. */
  readonly script = new Map<string, Reply[]>()
  inFlight = 0
  peak = 0
  answered = 0
  #held: Array<() => void> | null = null

  /** Holds every answer until `release()`. */
  hold(): void {
    this.#held ??= []
  }

  release(): void {
    const held = this.#held ?? []
    this.#held = null
    for (const go of held) go()
  }

  paths(): string[] {
    return this.calls.map((c) => c.path)
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input))
    this.calls.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), auth: new Headers(init?.headers).get('authorization') })
    this.inFlight++
    this.peak = Math.max(this.peak, this.inFlight)
    try {
      if (this.#held) await new Promise<void>((go) => this.#held!.push(go))
      await new Promise((r) => setImmediate(r))
      const reply = this.script.get(url.pathname)?.shift() ?? 'table'
      const r = reply === 'table' ? this.#table(url) : reply
      return new Response(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? {}), { status: r.status, headers: { 'content-type': 'application/json', ...r.headers } })
    } finally {
      this.inFlight--
      this.answered++
    }
  }

  #table(url: URL): Answer {
    if (url.pathname === '/image_ids') {
      const seq = SEQUENCES[url.searchParams.get('sequence_id') ?? '']
      return seq ? { status: 200, body: { data: seq.map((id) => ({ id })) } } : notFound(url.searchParams.get('sequence_id') ?? '')
    }
    const id = url.pathname.slice(1)
    const img = IMAGES[id]
    return img ? { status: 200, body: { id, ...img } } : notFound(id)
  }
}

// ---------------------------------------------------------------------------------------------
// The task: a sequence's image sizes, one unit per image, or one unit that splits itself in halves.

interface Params {
  sequence_id: string
  /**
   * `split`: one unit for the whole sequence, split in halves; `overlap`: a first unit of two images
   * whose split repeats the second unit; `pair`: one unit per image, the last two in one unit that splits.
   */
  plan?: 'flat' | 'split' | 'overlap' | 'pair'
  /** Requests a unit makes at once (and declares). */
  perUnit?: number
  /** Two reads one after the other while declaring one. */
  sequential?: boolean
  /** The images, given: the plan asks nothing. */
  given?: string[]
}
interface Unit {
  at: number
  ids: string[]
}

/** Errors a unit throws before asking the upstream, per image id, one per run. */
const throws = new Map<string, unknown[]>()
/** What a unit does before asking the upstream, per image id. */
const before = new Map<string, () => void>()
/** Units running at once, the most seen, and the answers built. */
const seen = { running: 0, peak: 0, answers: 0 }

const sizesTask: Task<Params, Unit> = {
  async plan(p, upstream) {
    if (p.given && p.plan === 'pair') return { ok: true, units: [...p.given.slice(0, -2).map((id, at) => ({ at, ids: [id] })), { at: p.given.length - 2, ids: p.given.slice(-2) }] }
    if (p.given) return { ok: true, units: p.given.map((id, at) => ({ at, ids: [id] })) }
    const res = await upstream.get<{ data: Array<{ id: string }> }>('/image_ids', { sequence_id: p.sequence_id })
    const all = res.data.map((d) => d.id)
    if (all.length === 0) return { ok: false, problem: problem('not_found', `Sequence ${p.sequence_id} has no image.`), headers: { 'x-plan': 'empty' } }
    if (p.plan === 'split') return { ok: true, units: [{ at: 0, ids: all }] }
    if (p.plan === 'pair') return { ok: true, units: [...all.slice(0, -2).map((id, at) => ({ at, ids: [id] })), { at: all.length - 2, ids: all.slice(-2) }] }
    if (p.plan === 'overlap') return { ok: true, units: [{ at: 0, ids: all.slice(0, 2) }, ...all.slice(1).map((id, i) => ({ at: i + 1, ids: [id] }))] }
    return { ok: true, units: all.map((id, at) => ({ at, ids: [id] })) }
  },
  unitKey: (u) => `${u.at}+${u.ids.length}`,
  async runUnit(u, p, upstream) {
    if (u.ids.length > 1) {
      const half = Math.ceil(u.ids.length / 2)
      return { children: [{ at: u.at, ids: u.ids.slice(0, half) }, { at: u.at + half, ids: u.ids.slice(half) }] }
    }
    const id = u.ids[0]!
    const thrown = throws.get(id)?.shift()
    if (thrown !== undefined) throw thrown
    before.get(id)?.()
    seen.peak = Math.max(seen.peak, ++seen.running)
    try {
      return await readSize(id, p, upstream)
    } finally {
      seen.running--
    }
  },
  answer(_p, results) {
    seen.answers++
    const dims = results.map((r) => ({ id: r.unit.ids[0]!, ...(JSON.parse(r.result) as { width: number; height: number }) }))
    const noWidth = dims.find((d) => d.width === 0)
    if (noWidth) return { ok: false, problem: problem('incomplete_result', `Image ${noWidth.id} has no size.`), headers: { 'x-incomplete': noWidth.id } }
    const noHeight = dims.find((d) => d.height === 0)
    if (noHeight) return { ok: false, problem: problem('incomplete_result', `Image ${noHeight.id} has no height.`) }
    return { ok: true, body: `[${results.map((r) => r.result).join(',')}]` }
  },
  failure: (e, unit, source) => ({ problem: problem('upstream_error', `unit ${unit?.at ?? '-'}: ${e.reason} (${source})`), headers: { 'x-reason': e.reason } }),
  overLimit: ({ limit, needed, asked }) => ({ problem: problem('box_too_costly', `needs ${needed} after ${asked}`, { limit, needed_at_least: needed }) }),
  requestsPerUnit: (p) => p.perUnit ?? 1,
}

/** One image's size: `perUnit` reads at once (or two in a row), every one settled before the unit answers. */
async function readSize(id: string, p: Params, upstream: GraphClient): Promise<{ result: string }> {
  const read = () => upstream.get<{ id: string; width: number; height: number }>(`/${id}`, { fields: 'width,height' })
  const settled = p.sequential ? [{ status: 'fulfilled' as const, value: await read() }, { status: 'fulfilled' as const, value: await read() }] : await Promise.allSettled(Array.from({ length: Math.max(1, p.perUnit ?? 1) }, read))
  const failed = settled.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
  const img = settled[0]?.status === 'fulfilled' ? settled[0].value : undefined
  return { result: JSON.stringify({ id: img!.id, width: img!.width, height: img!.height }) }
}

/** The same task with the engine's defaults for failures, bounds and requests per unit. */
const { failure: _failure, overLimit: _overLimit, requestsPerUnit: _perUnit, ...plainTask } = sizesTask

// ---------------------------------------------------------------------------------------------
// Objects, time and alarms.

let graph: FakeGraph
const clock = { now: T0 }

beforeEach(() => {
  graph = new FakeGraph()
  clock.now = T0
  throws.clear()
  before.clear()
  seen.running = 0
  seen.peak = 0
  seen.answers = 0
  vi.stubGlobal('fetch', graph.fetch)
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now)
  // Backoff before a retry: 0 ms.
  vi.spyOn(Math, 'random').mockReturnValue(0)
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

interface Obj {
  storage: SqliteStorage
  runner: JobRunner<Params, Unit>
}

interface Setup {
  settings?: Partial<UpstreamSettings>
  task?: Task<Params, Unit>
  options?: Partial<EngineOptions>
  /** Gives the runner part objects (each a runner on its own storage), by name. */
  parts?: boolean
  /** Stands between the coordinator and a part's runner. */
  wrapPart?: (name: string, stub: PartStub) => PartStub
  /** Gives the runner helper objects (each a runner on its own storage), by name. */
  helpers?: boolean
  /** Stands between a slice and a helper's runner. */
  wrapHelper?: (name: string, stub: HelperStub) => HelperStub
}

function setup(o: Setup = {}) {
  const settings: UpstreamSettings = { MAPILLARY_GRAPH_URL: 'https://graph.test/', MAPILLARY_ACCESS_TOKEN: SERVER, SUBREQUEST_BUDGET: '8', ...o.settings }
  const task = o.task ?? sizesTask
  const parts = new Map<string, Obj>()
  const part = (name: string): PartStub => {
    let p = parts.get(name)
    if (!p) parts.set(name, (p = make(new SqliteStorage())))
    const stub = p.runner as unknown as PartStub
    return o.wrapPart ? o.wrapPart(name, stub) : stub
  }
  const helpers = new Map<string, Obj>()
  const helper = (name: string): HelperStub => {
    let x = helpers.get(name)
    if (!x) helpers.set(name, (x = make(new SqliteStorage())))
    const stub = x.runner as unknown as HelperStub
    return o.wrapHelper ? o.wrapHelper(name, stub) : stub
  }
  const make = (storage: SqliteStorage): Obj => ({ storage, runner: new JobRunner({ ctx: storage.state(), settings, ...(o.parts ? { part } : {}), ...(o.helpers ? { helper } : {}) }, task, o.options) })
  const main = make(new SqliteStorage())
  const all = () => [main, ...parts.values()]

  /** Lets everything run that needs no time to pass: until no request, no answer, no write and no alarm happened for a while. */
  async function idle(): Promise<void> {
    const activity = () => graph.calls.length + graph.answered + all().reduce((a, x) => a + x.storage.sql.rowsWritten + x.storage.alarms.length, 0)
    let seen = -1
    while (activity() !== seen) {
      seen = activity()
      for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0))
    }
  }

  /** Fires the earliest alarm of any object, moving the clock to it when it lies ahead. */
  async function fire(): Promise<void> {
    const next = all()
      .filter((x) => x.storage.alarm !== null)
      .sort((a, b) => a.storage.alarm! - b.storage.alarm!)[0]
    if (!next) throw new Error('no alarm armed')
    clock.now = Math.max(clock.now, next.storage.alarm!)
    await next.storage.fireAlarm(() => next.runner.alarm())
  }

  /** Fires alarms until `work` settles. */
  async function drive<T>(work: Promise<T>, most = 60): Promise<T> {
    let over = false
    work.then(
      () => (over = true),
      () => (over = true),
    )
    for (let fired = 0; ; fired++) {
      await idle()
      if (over) return work
      if (fired >= most) throw new Error(`still running after ${most} alarms`)
      await fire()
    }
  }

  return {
    settings,
    main,
    parts,
    helpers,
    get runner() {
      return main.runner
    },
    get storage() {
      return main.storage
    },
    /** The object evicted: a new runner on the same storage, nothing in memory. */
    evict() {
      main.runner = make(main.storage).runner
      return main.runner
    },
    /** The part object `name` (made when first asked for). */
    part(name: string): Obj {
      part(name)
      return parts.get(name)!
    },
    /** Plans with prepare(), then arms the alarm that runs the first slice, as a runtime test does (prepare arms none for a whole job). */
    async prepare(name: string, p: Params, token?: string, opts?: { maxRequests?: number }) {
      const out = await main.runner.prepare(name, p, token, opts)
      await main.storage.setAlarm(clock.now)
      return out
    },
    idle,
    fire,
    drive,
    run: (name: string, p: Params, token?: string, opts?: { maxRequests?: number }) => drive(main.runner.run(name, p, token, opts)),
  }
}

function body(a: JobAnswer): unknown {
  if (!a.ok) throw new Error(`job failed: ${JSON.stringify(a.problem)}`)
  return JSON.parse(a.body)
}

const runSlices = (h: { runner: JobRunner<Params, Unit> }) => h.runner.store.slices().filter((s) => s.kind === 'run')
const job = (h: { runner: JobRunner<Params, Unit> }) => h.runner.store.job()
const unitTries = (h: { storage: SqliteStorage }, key: string) => storageRow(h.storage, 'SELECT tries, state FROM units WHERE key = ?', key)
function storageRow(storage: SqliteStorage, q: string, ...b: string[]) {
  return storage.sql.exec(q, ...b).one()
}

// ---------------------------------------------------------------------------------------------

describe('JobRunner: plan, units, answer', () => {
  it('answers every unit in plan order: one plan request, then one slice within what the budget leaves', async () => {
    const h = setup()
    const out = await h.run('sizes:s5', { sequence_id: 's5' })
    expect(out).toStrictEqual({ ok: true, body: JSON.stringify(sizes(1, 2, 3, 4, 5)), requests: 6 })
    expect(graph.calls.map((c) => [c.path, c.query])).toStrictEqual([
      ['/image_ids', { sequence_id: 's5' }],
      ...ids(1, 2, 3, 4, 5).map((id) => [`/${id}`, { fields: 'width,height' }]),
    ])
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${SERVER}`]))
    expect(await h.runner.progress()).toStrictEqual({
      state: 'done',
      role: 'whole',
      shards: 1,
      done: 5,
      total: 5,
      pending: 0,
      failed: 0,
      requests: 6,
      retries: 0,
      startedAt: T0,
      updatedAt: T0,
      slices: [
        { n: 1, kind: 'plan', startedAt: T0, finishedAt: T0, budget: 0, requests: 1, attempts: 1, retries: 0, inFlightPeak: 1, units: 0 },
        { n: 2, kind: 'run', startedAt: T0, finishedAt: T0, budget: 7, requests: 5, attempts: 5, retries: 0, inFlightPeak: 5, units: 5 },
      ],
    })
    // The watchdog behind the inline slice, then the retention alarm.
    expect(h.storage.alarms).toStrictEqual([T0 + ENGINE_DEFAULTS.watchdogMs, T0 + ENGINE_DEFAULTS.retainMs])
  })

  it('works through many units in slices of at most SUBREQUEST_BUDGET attempts and 6 in flight, one alarm each', async () => {
    const h = setup()
    const out = await h.run('sizes:s20', { sequence_id: 's20' })
    expect(body(out)).toStrictEqual(sizes(...range(1, 20)))
    expect(out.requests).toBe(21)
    expect(runSlices(h).map((s) => [s.budget, s.attempts, s.units, s.inFlightPeak])).toStrictEqual([
      [7, 7, 7, 6],
      [8, 8, 8, 6],
      [8, 5, 5, 5],
    ])
    expect(graph.peak).toBe(6)
    // Watchdog, the next slice at once (twice), retention.
    expect(h.storage.alarms).toStrictEqual([T0 + 5_000, T0, T0, T0 + 3_600_000])
  })

  it('keeps to maxInFlight connections', async () => {
    const h = setup({ options: { maxInFlight: 2 } })
    expect(body(await h.run('sizes:s5', { sequence_id: 's5' }))).toStrictEqual(sizes(1, 2, 3, 4, 5))
    expect(graph.peak).toBe(2)
    expect(runSlices(h).map((s) => s.inFlightPeak)).toStrictEqual([2])
  })

  it('makes no limit of the budget when SUBREQUEST_BUDGET is unset: one slice for all', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: undefined } })
    expect(body(await h.run('sizes:s20', { sequence_id: 's20' }))).toStrictEqual(sizes(...range(1, 20)))
    expect(runSlices(h).map((s) => [s.budget, s.units])).toStrictEqual([[subrequestBudget({}) - 1, 20]])
  })

  it('leaves the first slice to an alarm when planning spent the whole budget', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '1' } })
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(runSlices(h)).toStrictEqual([])
    expect(h.storage.alarm).toBe(T0)
    expect(body(await h.drive(work))).toStrictEqual(sizes(1, 2, 3))
    expect(runSlices(h).map((s) => [s.budget, s.attempts, s.units])).toStrictEqual([
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ])
  })

  it('runs the children a unit adds after every unit there is, and answers them like planned units', async () => {
    const h = setup()
    const out = await h.run('sizes:s4|split', { sequence_id: 's4', plan: 'split' })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4))
    // Splits ask nothing: the plan and one read per image.
    expect(out.requests).toBe(5)
    expect(graph.paths()).toStrictEqual(['/image_ids', '/i1', '/i2', '/i3', '/i4'])
    expect(h.storage.sql.exec('SELECT key, state, parent FROM units ORDER BY id').toArray()).toStrictEqual([
      { key: '0+4', state: 'split', parent: null },
      { key: '0+2', state: 'split', parent: 1 },
      { key: '2+2', state: 'split', parent: 1 },
      { key: '0+1', state: 'done', parent: 2 },
      { key: '1+1', state: 'done', parent: 2 },
      { key: '2+1', state: 'done', parent: 3 },
      { key: '3+1', state: 'done', parent: 3 },
    ])
    expect(await h.runner.progress()).toMatchObject({ done: 7, total: 7, pending: 0, requests: 5 })
    expect(runSlices(h).map((s) => s.units)).toStrictEqual([7])
  })

  it('adds a child whose key the job has already nothing: a replayed split runs once', async () => {
    const h = setup()
    // Units: {0,[i1,i2]}, {1,[i2]}, {2,[i3]}; the first splits into {0,[i1]} and {1,[i2]}, known already.
    const out = await h.run('sizes:s3|overlap', { sequence_id: 's3', plan: 'overlap' })
    expect(body(out)).toStrictEqual(sizes(2, 3, 1))
    expect(graph.paths().filter((p) => p === '/i2')).toHaveLength(1)
    expect(out.requests).toBe(4)
    expect(await h.runner.progress()).toMatchObject({ done: 4, total: 4 })
  })

  it('answers the task’s own problem when its answer refuses the results', async () => {
    const h = setup()
    const out = await h.run('sizes:sZero', { sequence_id: 'sZero' })
    expect(out).toStrictEqual({ ok: false, problem: problem('incomplete_result', 'Image z1 has no size.'), headers: { 'x-incomplete': 'z1' }, requests: 3 })
    expect(job(h)?.state).toBe('done')
    const flat = setup()
    expect(await flat.run('sizes:sFlat', { sequence_id: 'sFlat' })).toStrictEqual({ ok: false, problem: problem('incomplete_result', 'Image z2 has no height.'), requests: 3 })
  })

  it('records no plan slice for a plan that asks nothing, and gives the first slice the whole budget', async () => {
    const h = setup()
    const out = await h.run('sizes:given', { sequence_id: '-', given: ids(...range(1, 9)) })
    expect(body(out)).toStrictEqual(sizes(...range(1, 9)))
    expect(h.runner.store.slices().map((s) => [s.kind, s.budget, s.units])).toStrictEqual([
      ['run', 8, 8],
      ['run', 8, 1],
    ])
  })

  it('answers a plan of no unit at once, with no slice', async () => {
    const h = setup()
    expect(await h.run('sizes:none', { sequence_id: '-', given: [] })).toStrictEqual({ ok: true, body: '[]', requests: 0 })
    expect(h.runner.store.slices()).toStrictEqual([])
    expect(job(h)?.state).toBe('done')
  })

  it('counts requestsPerUnit: a unit starts only while all its requests fit, with fewer units at once', async () => {
    const h = setup()
    const out = await h.run('sizes:s5|3', { sequence_id: 's5', perUnit: 3 })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4, 5))
    expect(out.requests).toBe(16)
    expect(runSlices(h).map((s) => [s.budget, s.attempts, s.units, s.inFlightPeak])).toStrictEqual([
      [7, 6, 2, 6],
      [8, 6, 2, 6],
      [8, 3, 1, 3],
    ])
  })

  it('starts no more units at once than their requests fit in maxInFlight', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '100' } })
    expect(body(await h.run('sizes:s5|3', { sequence_id: 's5', perUnit: 3 }))).toStrictEqual(sizes(1, 2, 3, 4, 5))
    expect(seen.peak).toBe(2)
    expect(runSlices(h).map((s) => [s.attempts, s.units, s.inFlightPeak])).toStrictEqual([[15, 5, 6]])
  })

  it('runs one unit at a time when one unit needs more connections than there are', async () => {
    const h = setup({ options: { maxInFlight: 2 } })
    expect(body(await h.run('sizes:s3|3', { sequence_id: 's3', perUnit: 3 }))).toStrictEqual(sizes(1, 2, 3))
    expect(graph.peak).toBe(2)
  })

  it('takes a unit that declares no request as one', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '3' } })
    expect(body(await h.run('sizes:s4|0', { sequence_id: 's4', perUnit: 0 }))).toStrictEqual(sizes(1, 2, 3, 4))
    expect(runSlices(h).map((s) => [s.budget, s.units])).toStrictEqual([
      [2, 2],
      [3, 2],
    ])
  })

  it('a unit makes at most the attempts per request its share of the budget allows', async () => {
    const h = setup()
    graph.script.set('/i1', Array.from({ length: 6 }, () => ({ status: 500 })))
    // Budget 7 after the plan, 3 requests per unit: 2 attempts each, 6 in all, then a try is spent.
    const work = h.runner.run('sizes:s1|3', { sequence_id: 's1', perUnit: 3 })
    await h.idle()
    expect(runSlices(h).map((s) => [s.attempts, s.retries])).toStrictEqual([[6, 3]])
    expect(unitTries(h, '0+1')).toStrictEqual({ tries: 1, state: 'pending' })
    expect(body(await h.drive(work))).toStrictEqual(sizes(1))
  })

  it('runs a unit that needs the whole SUBREQUEST_BUDGET, one per slice', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '3' } })
    expect(body(await h.run('sizes:s3|3', { sequence_id: 's3', perUnit: 3 }))).toStrictEqual(sizes(1, 2, 3))
    expect(runSlices(h).map((s) => [s.budget, s.attempts, s.units])).toStrictEqual([
      [3, 3, 1],
      [3, 3, 1],
      [3, 3, 1],
    ])
  })

  it('refuses a task whose unit needs more requests than SUBREQUEST_BUDGET', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '2' } })
    const out = await h.run('sizes:s3|3', { sequence_id: 's3', perUnit: 3 })
    expect(out).toStrictEqual({ ok: false, problem: problem('subrequest_budget_exceeded', 'SUBREQUEST_BUDGET (2) is below the 3 requests one unit needs.'), requests: 1 })
    expect(graph.paths()).toStrictEqual(['/image_ids'])
  })
})

describe('JobRunner: planning', () => {
  it('answers the plan’s own problem and keeps nothing', async () => {
    const h = setup()
    const out = await h.run('sizes:sEmpty', { sequence_id: 'sEmpty' })
    expect(out).toStrictEqual({ ok: false, problem: problem('not_found', 'Sequence sEmpty has no image.'), headers: { 'x-plan': 'empty' }, requests: 1 })
    expect((await h.runner.progress()).state).toBe('empty')
    expect(h.storage.count('job', 'units', 'slices')).toStrictEqual([0, 0, 0])
  })

  it('answers an upstream failure while planning as the task’s failure, with every attempt counted', async () => {
    const h = setup()
    // Planning runs in the calling invocation with the client's own retries (5 attempts).
    graph.script.set('/image_ids', Array.from({ length: 5 }, () => ({ status: 500 })))
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out).toStrictEqual({ ok: false, problem: problem('upstream_error', 'unit -: unavailable (server)'), headers: { 'x-reason': 'unavailable' }, requests: 5 })
    expect(job(h)).toBeUndefined()
    // Nothing kept: the next call plans again.
    expect(body(await h.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
  })

  it('answers an upstream failure while planning by the upstream’s problem by default', async () => {
    const h = setup({ task: plainTask })
    const out = await h.run('sizes:nope', { sequence_id: 'nope' })
    expect(out).toStrictEqual({ ok: false, problem: problem('not_found', 'The upstream has no object with this id.'), headers: {}, requests: 1 })
  })

  it('lets an error of ours while planning through, keeping nothing', async () => {
    const broken: Task<Params, Unit> = { ...sizesTask, plan: async () => Promise.reject(new RangeError('bad plan')) }
    const h = setup({ task: broken })
    await expect(h.runner.run('sizes:s3', { sequence_id: 's3' })).rejects.toThrow('bad plan')
    expect(job(h)).toBeUndefined()
    await expect(h.runner.run('sizes:s3', { sequence_id: 's3' })).rejects.toThrow('bad plan')
  })

  it('answers upstream_auth with no request when there is no token at all', async () => {
    const h = setup({ settings: { MAPILLARY_ACCESS_TOKEN: undefined } })
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out).toStrictEqual({ ok: false, problem: expect.objectContaining({ code: 'upstream_auth', status: 502 }), requests: 0 })
    expect(graph.calls).toStrictEqual([])
    expect(job(h)).toBeUndefined()
  })

  it('fails a running job whose server token went away, asking nothing', async () => {
    const h = setup()
    await h.prepare('sizes:s3', { sequence_id: 's3' })
    h.settings.MAPILLARY_ACCESS_TOKEN = undefined
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'failed', problem: { code: 'upstream_auth' } })
    expect(graph.calls).toHaveLength(1)
  })

  it('prepare plans without running a unit and answers the progress', async () => {
    const h = setup()
    const out = await h.runner.prepare('sizes:s5', { sequence_id: 's5' })
    expect(out).toStrictEqual({
      ok: true,
      progress: {
        state: 'running',
        role: 'whole',
        shards: 1,
        done: 0,
        total: 5,
        pending: 5,
        failed: 0,
        requests: 1,
        retries: 0,
        startedAt: T0,
        updatedAt: T0,
        slices: [{ n: 1, kind: 'plan', startedAt: T0, finishedAt: T0, budget: 0, requests: 1, attempts: 1, retries: 0, inFlightPeak: 1, units: 0 }],
      },
    })
    expect(graph.paths()).toStrictEqual(['/image_ids'])
    // Prepared again: nothing asked, the same plan.
    expect(await h.runner.prepare('sizes:s5', { sequence_id: 's5' })).toMatchObject({ ok: true, progress: { total: 5, requests: 1 } })
    expect(graph.calls).toHaveLength(1)
    expect(h.storage.alarm).toBeNull()
    // The first alarm runs the first slice with the whole budget.
    await h.storage.setAlarm(T0)
    await h.fire()
    expect(runSlices(h).map((s) => [s.budget, s.units])).toStrictEqual([[8, 5]])
    expect(job(h)?.state).toBe('done')
  })

  it('prepare answers the failure that stopped planning, with its headers', async () => {
    const h = setup()
    expect(await h.runner.prepare('sizes:sEmpty', { sequence_id: 'sEmpty' })).toStrictEqual({ ok: false, problem: problem('not_found', 'Sequence sEmpty has no image.'), headers: { 'x-plan': 'empty' } })
    const plain = setup({ task: plainTask })
    expect(await plain.runner.prepare('sizes:nope', { sequence_id: 'nope' })).toStrictEqual({ ok: false, problem: problem('not_found', 'The upstream has no object with this id.'), headers: {} })
  })

  it('plans again after a failed prepare', async () => {
    const h = setup()
    graph.script.set('/image_ids', [notFound('s3')])
    expect(await h.runner.prepare('sizes:s3', { sequence_id: 's3' })).toMatchObject({ ok: false, problem: { code: 'upstream_error' } })
    expect(body(await h.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
  })

  it('serves another question once a prepared job is gone', async () => {
    const h = setup({ options: { retainMs: 60_000 } })
    await h.prepare('sizes:s3', { sequence_id: 's3' })
    await h.fire()
    clock.now = T0 + 60_000
    await h.fire()
    expect(job(h)).toBeUndefined()
    expect(body(await h.run('sizes:s1', { sequence_id: 's1' }))).toStrictEqual(sizes(1))
  })

  it('prepare keeps a client’s token for the slices that follow', async () => {
    const h = setup()
    await h.prepare('sizes:s3|client', { sequence_id: 's3' }, CLIENT)
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'done', client: true })
    expect(graph.calls.map((c) => c.auth)).toStrictEqual(Array(4).fill(`OAuth ${CLIENT}`))
  })
})

describe('JobRunner: failures and retries', () => {
  it('tries a unit that failed transiently again in a later slice, then answers whole', async () => {
    const h = setup({ options: { attemptsPerRequest: 1 } })
    graph.script.set('/i2', [{ status: 500 }, { status: 500 }])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 1, state: 'pending' })
    expect(job(h)?.stalls).toBe(0)
    await h.fire()
    await h.idle()
    // A slice that finished nothing is a stall.
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 2, state: 'pending' })
    expect(job(h)?.stalls).toBe(1)
    const out = await h.drive(work)
    expect(body(out)).toStrictEqual(sizes(1, 2, 3))
    expect(out.requests).toBe(6)
    expect(runSlices(h).map((s) => [s.attempts, s.units])).toStrictEqual([
      [3, 2],
      [1, 0],
      [1, 1],
    ])
  })

  it('fails the job with the task’s problem when a unit fails transiently maxUnitTries times, never a partial answer', async () => {
    const h = setup({ options: { attemptsPerRequest: 1 } })
    graph.script.set('/i2', [{ status: 500 }, { status: 500 }, { status: 500 }])
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out).toStrictEqual({ ok: false, problem: problem('upstream_error', 'unit 1: unavailable (server)'), headers: { 'x-reason': 'unavailable' }, requests: 6 })
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 3, state: 'failed' })
    expect(await h.runner.progress()).toMatchObject({ state: 'failed', done: 2, failed: 1, pending: 0, total: 3 })
    // Asked again: the failed unit gets fresh tries, finished units are not asked again.
    const again = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(body(again)).toStrictEqual(sizes(1, 2, 3))
    expect(graph.paths().slice(6)).toStrictEqual(['/i2'])
  })

  it('honours maxUnitTries', async () => {
    const h = setup({ options: { attemptsPerRequest: 1, maxUnitTries: 1 } })
    graph.script.set('/i2', [{ status: 500 }])
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out.ok).toBe(false)
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 1, state: 'failed' })
  })

  it.each<[UpstreamReason]>([['rate_limited'], ['unavailable'], ['timeout'], ['dropped'], ['bad_response']])('takes %s as transient', async (reason) => {
    const h = setup()
    throws.set('i2', [new UpstreamError(reason, reason)])
    expect(body(await h.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
    expect(runSlices(h).map((s) => s.units)).toStrictEqual([2, 1])
  })

  it('waits out a quota governor’s pause without spending a try: the caller gets 503 with the pause’s Retry-After, the work goes on after it', async () => {
    // maxUnitTries 1, as a box has: a refused permit must not count as the unit's one try. One unit at a time, so the order is known.
    const h = setup({ options: { maxUnitTries: 1, maxInFlight: 1 } })
    // The governor refuses i2's permit until T0 + 100 s (what GraphClient throws then: nothing sent).
    const end = T0 + 100_000
    before.set('i2', () => {
      if (clock.now < end) throw new UpstreamError('rate_limited', 'not sent: paced', { retryAfterSeconds: Math.ceil((end - clock.now) / 1000), paced: true })
    })
    const first = await h.runner.run('sizes:s4', { sequence_id: 's4' })
    expect(first).toStrictEqual({
      ok: false,
      problem: problem('upstream_rate_limited', 'This service is pacing its upstream requests to stay within the upstream\'s rate limit, shared by every caller; retry in 100 s.', { retry_after: 100 }),
      headers: { 'retry-after': '100' },
      requests: 2,
    })
    // No unit started after the refusal; the refused ones spent no try and stay pending; no stall.
    expect(graph.paths()).toStrictEqual(['/image_ids', '/i1'])
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 0, state: 'pending' })
    expect(unitTries(h, '2+1')).toStrictEqual({ tries: 0, state: 'pending' })
    expect(job(h)).toMatchObject({ state: 'running', stalls: 0 })
    // The alarm comes back within maxAlarmDelayMs, finds the pause still on, and waits again.
    expect(h.storage.alarm).toBe(T0 + 60_000)
    // Halfway through the pause, a caller is told the time left.
    clock.now = T0 + 40_000
    expect(await h.runner.run('sizes:s4', { sequence_id: 's4' })).toMatchObject({ ok: false, problem: { code: 'upstream_rate_limited', retry_after: 60 }, headers: { 'retry-after': '60' } })
    // That call's own slice was refused again (nothing asked), and set the alarm to the pause's end; then the rest runs.
    expect(graph.paths()).toStrictEqual(['/image_ids', '/i1'])
    expect(h.storage.alarm).toBe(end)
    await h.fire()
    await h.idle()
    expect(job(h)?.state).toBe('done')
    const out = await h.runner.run('sizes:s4', { sequence_id: 's4' })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4))
    expect(graph.paths()).toStrictEqual(['/image_ids', '/i1', '/i2', '/i3', '/i4'])
    expect(clock.now).toBe(end)
    expect(runSlices(h).map((s) => [s.attempts, s.units])).toStrictEqual([
      [1, 1],
      [0, 0],
      [3, 3],
    ])
    expect(job(h)?.stalls).toBe(0)
  })

  it.each<[UpstreamReason]>([['not_found'], ['bad_request'], ['unauthorized']])('fails the job at once on %s', async (reason) => {
    const h = setup()
    throws.set('i2', [new UpstreamError(reason, reason)])
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out).toMatchObject({ ok: false, problem: { detail: `unit 1: ${reason} (server)` } })
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 1, state: 'failed' })
  })

  it('fails at once on an upstream answer that will not change, starting no unit after it', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '3' }, options: { maxInFlight: 1 } })
    const out = await h.run('sizes:sGap', { sequence_id: 'sGap' })
    expect(out).toStrictEqual({ ok: false, problem: problem('upstream_error', 'unit 1: not_found (server)'), headers: { 'x-reason': 'not_found' }, requests: 3 })
    expect(graph.paths()).toStrictEqual(['/image_ids', '/i1', '/nope'])
    expect(await h.runner.progress()).toMatchObject({ state: 'failed', done: 1, failed: 1, pending: 1 })
  })

  it('answers the upstream’s own problem by default: a client’s rejected token is invalid_token', async () => {
    const h = setup({ task: plainTask })
    graph.script.set('/i2', [{ status: 401, body: { error: { code: 190, message: 'Invalid OAuth access token' } } }])
    const out = await h.run('sizes:s3|c', { sequence_id: 's3' }, CLIENT)
    expect(out).toStrictEqual({ ok: false, problem: problem('invalid_token', 'The upstream rejected the access token in your Authorization header.'), requests: 4 })
  })

  it('waits a unit’s Retry-After for the next slice', async () => {
    const h = setup()
    graph.script.set('/i2', [{ status: 429, headers: { 'retry-after': '7' } }])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    // Over the 5 s a slice may wait in itself: the unit waits for an alarm 7 s later.
    expect(h.storage.alarm).toBe(T0 + 7_000)
    expect(graph.paths().filter((p) => p === '/i2')).toHaveLength(1)
    expect(body(await h.drive(work))).toStrictEqual(sizes(1, 2, 3))
    expect(runSlices(h).map((s) => s.startedAt)).toStrictEqual([T0, T0 + 7_000])
  })

  it('delays the next slice by at most maxAlarmDelayMs', async () => {
    const h = setup({ options: { maxAlarmDelayMs: 30_000 } })
    graph.script.set('/i2', [{ status: 503, headers: { 'retry-after': '600' } }])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(h.storage.alarm).toBe(T0 + 30_000)
    await h.drive(work)
  })

  it('waits inside a slice only up to maxRetryAfterInSliceSeconds', async () => {
    const h = setup({ options: { maxRetryAfterInSliceSeconds: 0 } })
    graph.script.set('/i2', [{ status: 429, headers: { 'retry-after': '1' } }])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(h.storage.alarm).toBe(T0 + 1_000)
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 1, state: 'pending' })
    await h.drive(work)
  })

  it('answers a unit’s last Retry-After with the upstream’s problem', async () => {
    const h = setup({ task: plainTask })
    graph.script.set('/i2', Array.from({ length: 3 }, () => ({ status: 429, headers: { 'retry-after': '7' } })))
    const out = await h.run('sizes:s3', { sequence_id: 's3' })
    expect(out).toStrictEqual({ ok: false, problem: problem('upstream_rate_limited', 'The upstream rate limit was reached; retry in 7 s.', { retry_after: 7 }), headers: { 'retry-after': '7' }, requests: 6 })
  })

  it('keeps a unit the budget cut off pending, without spending a try, for the next slice', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '4' } })
    graph.script.set('/i1', [{ status: 500 }, { status: 500 }])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    // Budget 3 after the plan: i1, i2, i3 at once, then i1's retry has no attempt left.
    expect(unitTries(h, '0+1')).toStrictEqual({ tries: 0, state: 'pending' })
    expect(runSlices(h).map((s) => [s.attempts, s.units])).toStrictEqual([[3, 2]])
    expect(body(await h.drive(work))).toStrictEqual(sizes(1, 2, 3))
    expect(runSlices(h).map((s) => [s.attempts, s.retries, s.units])).toStrictEqual([
      [3, 0, 2],
      [2, 1, 1],
    ])
  })

  it('gives up after maxStalls slices without a finished unit, naming what the upstream kept answering', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '2' } })
    // Each slice: the first read fails, its retry succeeds, the second read finds no budget left.
    graph.script.set('/i1', Array.from({ length: 3 }, () => [{ status: 503 }, 'table' as const]).flat())
    await h.prepare('sizes:s1', { sequence_id: 's1', sequential: true })
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'running', stalls: 1 })
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'running', stalls: 2 })
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'failed', problem: problem('upstream_error', 'unit -: unavailable (server)'), headers: { 'x-reason': 'unavailable' }, stalls: 0 })
    expect(unitTries(h, '0+1')).toStrictEqual({ tries: 0, state: 'pending' })
  })

  it('names the upstream’s problem for a stall by default, after maxStalls', async () => {
    const h = setup({ task: plainTask, settings: { SUBREQUEST_BUDGET: '2' }, options: { maxStalls: 1 } })
    graph.script.set('/i1', [{ status: 503 }, 'table'])
    await h.prepare('sizes:s1', { sequence_id: 's1', sequential: true })
    await h.fire()
    expect(job(h)).toMatchObject({ state: 'failed', problem: problem('upstream_unavailable', 'The upstream is unavailable, even after retries.', { upstream_status: 503 }) })
  })

  it('names the budget for a stall when the upstream never failed', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '1' } })
    await h.prepare('sizes:s1', { sequence_id: 's1', sequential: true })
    for (let i = 0; i < 3; i++) await h.fire()
    expect(job(h)).toMatchObject({ state: 'failed', problem: problem('subrequest_budget_exceeded', 'The job made no progress within its subrequest budget.') })
    expect(graph.calls).toHaveLength(4)
  })

  it('counts stalls from 0 again after a slice that finished a unit', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '1' }, options: { maxStalls: 2 } })
    await h.prepare('sizes:s3', { sequence_id: 's3', plan: 'split' })
    // Budget 1: a split asks nothing, so every slice finishes a unit; no stall ever.
    await h.fire()
    expect(job(h)?.stalls).toBe(0)
    h.runner.store.setCounters(1, 0, T0)
    await h.fire()
    expect(job(h)?.stalls).toBe(0)
  })
})

describe('JobRunner: maxRequests', () => {
  it('refuses a plan over the bound before any unit, keeping nothing; a plan at the bound runs', async () => {
    const h = setup()
    const out = await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 5 })
    expect(out).toStrictEqual({ ok: false, problem: problem('box_too_costly', 'needs 6 after 1', { limit: 5, needed_at_least: 6 }), requests: 1 })
    expect(job(h)).toBeUndefined()
    const at = await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 6 })
    expect(body(at)).toStrictEqual(sizes(1, 2, 3, 4, 5))
    expect(job(h)?.maxRequests).toBe(6)
  })

  it('states the bound by default as subrequest_budget_exceeded', async () => {
    const h = setup({ task: plainTask })
    const out = await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 3 })
    expect(out).toStrictEqual({ ok: false, problem: problem('subrequest_budget_exceeded', 'This job needs at least 6 upstream requests, over its limit of 3.', { limit: 3 }), requests: 1 })
  })

  it('ends the job when a split would take it past the bound; the same bound answers the same with no request; a larger one goes on', async () => {
    const h = setup()
    const p: Params = { sequence_id: 's4', plan: 'split' }
    const stopped = await h.run('sizes:s4|split', p, undefined, { maxRequests: 4 })
    // {0..3} split into {0,1} and {2,3}; the first split again, the second's split would need 5.
    const expected = { ok: false, problem: problem('box_too_costly', 'needs 5 after 1', { limit: 4, needed_at_least: 5 }), requests: 1 }
    expect(stopped).toStrictEqual(expected)
    expect(job(h)).toMatchObject({ state: 'failed', overLimit: true, maxRequests: 4 })
    expect(graph.paths()).toStrictEqual(['/image_ids'])
    const slices = h.runner.store.slices().length
    for (const maxRequests of [4, 3]) expect(await h.run('sizes:s4|split', p, undefined, { maxRequests })).toStrictEqual(expected)
    expect(graph.calls).toHaveLength(1)
    expect(h.runner.store.slices()).toHaveLength(slices)
    const whole = await h.run('sizes:s4|split', p, undefined, { maxRequests: 5 })
    expect(body(whole)).toStrictEqual(sizes(1, 2, 3, 4))
    // 5 in all, not 5 more.
    expect(whole.requests).toBe(5)
    expect(job(h)).toMatchObject({ state: 'done', overLimit: false, maxRequests: 5 })
  })

  it('accepts a split that needs exactly the bound', async () => {
    const h = setup()
    const out = await h.run('sizes:s4|split', { sequence_id: 's4', plan: 'split' }, undefined, { maxRequests: 5 })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4))
    expect(out.requests).toBe(5)
  })

  it('spends the bound to its last request', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '2' } })
    const out = await h.run('sizes:s4', { sequence_id: 's4' }, undefined, { maxRequests: 5 })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4))
    expect(runSlices(h).map((s) => [s.budget, s.units])).toStrictEqual([
      [1, 1],
      [2, 2],
      [1, 1],
    ])
  })

  it('ends the job when retries used up the bound with units still pending', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '20' } })
    graph.script.set('/i1', [{ status: 500 }])
    const out = await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 6 })
    // The first slice may make 5 attempts; i1's retry is cut off, and no request is left for it.
    expect(out).toStrictEqual({ ok: false, problem: problem('box_too_costly', 'needs 7 after 6', { limit: 6, needed_at_least: 7 }), requests: 6 })
    expect(runSlices(h).map((s) => [s.budget, s.attempts])).toStrictEqual([[5, 5]])
    expect(job(h)).toMatchObject({ state: 'failed', overLimit: true })
  })

  it('goes on with a job resumed under a larger bound when its caller asks again after an eviction', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '20' } })
    graph.script.set('/i1', [{ status: 500 }, { status: 429, headers: { 'retry-after': '7' } }])
    await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 6 })
    // Resumed under 10: i1 is throttled, the next slice 7 s away; the object is evicted meanwhile.
    void h.runner.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 10 })
    await h.idle()
    expect(job(h)).toMatchObject({ state: 'running', maxRequests: 10 })
    h.evict()
    const out = await h.run('sizes:s5', { sequence_id: 's5' }, undefined, { maxRequests: 10 })
    expect(body(out)).toStrictEqual(sizes(1, 2, 3, 4, 5))
    expect(out.requests).toBe(8)
  })

  it('ends the job at a split past the bound, counting the requests the slice made before it', async () => {
    const h = setup({ options: { maxInFlight: 1 } })
    const out = await h.run('sizes:s4|pair', { sequence_id: 's4', plan: 'pair' }, undefined, { maxRequests: 4 })
    expect(out).toStrictEqual({ ok: false, problem: problem('box_too_costly', 'needs 5 after 3', { limit: 4, needed_at_least: 5 }), requests: 3 })
  })
})

describe('JobRunner: tokens', () => {
  it('uses a client’s token for every request of its job, never the server’s', async () => {
    const h = setup()
    expect(body(await h.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT))).toStrictEqual(sizes(...range(1, 20)))
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
    expect(job(h)?.client).toBe(true)
  })

  it('ends a client’s job with job_interrupted when an eviction lost its token, asking nothing; its caller resumes it', async () => {
    const h = setup({ options: { pollMs: 5 } })
    const first = h.runner.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT)
    await h.idle()
    expect(graph.calls).toHaveLength(8)
    h.evict()
    await h.fire()
    const interrupted = { ok: false, problem: problem('job_interrupted', 'The work for your request was interrupted and lost the token of your Authorization header, which is kept in memory only; ask again to resume it.'), requests: 8 }
    expect(await h.runner.progress()).toMatchObject({ state: 'failed', done: 7, pending: 13 })
    expect(graph.calls).toHaveLength(8)
    // The evicted object's caller sees the same end.
    expect(await first).toStrictEqual(interrupted)
    const resumed = await h.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT)
    expect(body(resumed)).toStrictEqual(sizes(...range(1, 20)))
    expect(resumed.requests).toBe(21)
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
  })

  it('goes on with the token of the same caller asking again while an evicted client’s job is running', async () => {
    const h = setup()
    void h.runner.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT)
    await h.idle()
    h.evict()
    expect(body(await h.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT))).toStrictEqual(sizes(...range(1, 20)))
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
  })

  it('keeps the starter’s token when a caller without one joins a client’s running job', async () => {
    const h = setup()
    const work = h.runner.run('sizes:s20|client', { sequence_id: 's20' }, CLIENT)
    await h.idle()
    const joined = h.runner.run('sizes:s20|client', { sequence_id: 's20' })
    expect(body(await h.drive(joined))).toStrictEqual(sizes(...range(1, 20)))
    expect(await work).toStrictEqual(await joined)
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
  })

  it('runs the next job of the object with its own caller’s token, not the last one’s', async () => {
    const h = setup()
    await h.run('sizes:s3', { sequence_id: 's3' }, CLIENT)
    clock.now += 3_600_001
    await h.prepare('sizes:s1', { sequence_id: 's1' })
    await h.fire()
    expect(graph.calls.slice(4).map((c) => c.auth)).toStrictEqual([`OAuth ${SERVER}`, `OAuth ${SERVER}`])
  })
})

describe('JobRunner: one object, one question', () => {
  it('lets concurrent identical questions share one plan and one run', async () => {
    const h = setup()
    graph.hold()
    const works = [h.runner.run('sizes:s5', { sequence_id: 's5' }), h.runner.run('sizes:s5', { sequence_id: 's5' }), h.runner.prepare('sizes:s5', { sequence_id: 's5' })]
    await h.idle()
    graph.release()
    const [a, b, prepared] = await h.drive(Promise.all(works))
    expect(a).toStrictEqual({ ok: true, body: JSON.stringify(sizes(1, 2, 3, 4, 5)), requests: 6 })
    expect(b).toStrictEqual(a)
    expect(prepared).toMatchObject({ ok: true, progress: { total: 5 } })
    expect(graph.paths()).toStrictEqual(['/image_ids', ...ids(1, 2, 3, 4, 5).map((id) => `/${id}`)])
  })

  it('lets a question join a job an alarm is running', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '2' }, options: { pollMs: 2 } })
    await h.prepare('sizes:s5', { sequence_id: 's5' })
    graph.hold()
    const alarm = h.fire()
    await h.idle()
    const joined = h.runner.run('sizes:s5', { sequence_id: 's5' })
    await h.idle()
    // The call that joined arms nothing while the alarm's slice runs, even polling.
    await new Promise((r) => setTimeout(r, 20))
    expect(h.storage.alarm).toBeNull()
    expect(h.storage.alarms).toStrictEqual([T0])
    graph.release()
    await alarm
    expect(body(await h.drive(joined))).toStrictEqual(sizes(1, 2, 3, 4, 5))
    // Every slice a whole one (budget 2): the call that joined ran none beside the alarm's.
    expect(runSlices(h).map((s) => [s.budget, s.units])).toStrictEqual([
      [2, 2],
      [2, 2],
      [2, 1],
    ])
  })

  it('keeps the tries of a running job a call joins between alarms', async () => {
    const h = setup({ options: { attemptsPerRequest: 1, maxUnitTries: 2 } })
    graph.script.set('/i2', [{ status: 500 }, { status: 500 }])
    await h.prepare('sizes:s3', { sequence_id: 's3' })
    await h.fire()
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 1, state: 'pending' })
    expect(await h.run('sizes:s3', { sequence_id: 's3' })).toMatchObject({ ok: false, problem: { detail: 'unit 1: unavailable (server)' } })
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 2, state: 'failed' })
  })

  it('keeps the token of a client’s job an alarm is running when a call without one joins', async () => {
    const h = setup()
    await h.prepare('sizes:s20|client', { sequence_id: 's20' }, CLIENT)
    await h.fire()
    expect(body(await h.run('sizes:s20|client', { sequence_id: 's20' }))).toStrictEqual(sizes(...range(1, 20)))
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
  })

  it('answers a finished job from storage, with no request', async () => {
    const h = setup()
    const first = await h.run('sizes:s3', { sequence_id: 's3' })
    const again = await h.runner.run('sizes:s3', { sequence_id: 's3' })
    expect(again).toStrictEqual(first)
    expect(graph.calls).toHaveLength(4)
  })

  const busy = { ok: false, problem: problem('internal_error', 'This job object is busy with another question.'), requests: 0 }

  it('answers a question of another object busy while an alarm runs a slice of its job', async () => {
    const h = setup()
    await h.prepare('sizes:s20', { sequence_id: 's20' })
    graph.hold()
    const alarm = h.fire()
    await h.idle()
    expect(await h.runner.run('sizes:s3', { sequence_id: 's3' })).toStrictEqual(busy)
    // The same name with other parameters, or the same parameters under another name, is another question.
    expect(await h.runner.run('sizes:s20', { sequence_id: 's4' })).toStrictEqual(busy)
    expect(await h.runner.run('sizes:s20|client:abc', { sequence_id: 's20' }, CLIENT)).toStrictEqual(busy)
    expect(await h.runner.prepare('sizes:s3', { sequence_id: 's3' })).toStrictEqual({ ok: false, problem: busy.problem })
    expect(await h.runner.runPart('sizes:s3#1/2', { sequence_id: 's3' }, ['{}'])).toStrictEqual(busy)
    graph.release()
    await alarm
    expect(job(h)).toMatchObject({ name: 'sizes:s20', state: 'running' })
  })

  it('answers another question busy while the plan of its job is under way, and lets the same question share it', async () => {
    const h = setup()
    graph.hold()
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' }, CLIENT)
    await h.idle()
    expect(job(h)).toBeUndefined()
    expect(await h.runner.run('sizes:s1', { sequence_id: 's1' })).toStrictEqual(busy)
    expect(await h.runner.run('sizes:s3', { sequence_id: 's1' })).toStrictEqual(busy)
    expect(await h.runner.run('sizes:s3|server', { sequence_id: 's3' })).toStrictEqual(busy)
    expect(await h.runner.prepare('sizes:s4', { sequence_id: 's4' })).toStrictEqual({ ok: false, problem: busy.problem })
    const joined = h.runner.run('sizes:s3', { sequence_id: 's3' }, CLIENT)
    graph.release()
    const [a, b] = await h.drive(Promise.all([work, joined]))
    expect(body(a)).toStrictEqual(sizes(1, 2, 3))
    expect(b).toStrictEqual(a)
    expect(graph.calls.map((c) => [c.path, c.auth])).toStrictEqual([['/image_ids', `OAuth ${CLIENT}`], ...ids(1, 2, 3).map((id) => [`/${id}`, `OAuth ${CLIENT}`])])
    // Once a failed plan is over, another question may use the object.
    graph.script.set('/image_ids', [notFound('sX')])
    expect(await h.run('sizes:sX', { sequence_id: 'sX' })).toMatchObject({ ok: false, problem: { code: 'upstream_error' } })
    expect(body(await h.run('sizes:s1', { sequence_id: 's1' }))).toStrictEqual(sizes(1))
  })

  it('answers a question of another object busy while a call waits on its job between slices', async () => {
    const h = setup()
    const work = h.runner.run('sizes:s20', { sequence_id: 's20' })
    await h.idle()
    expect(await h.runner.run('sizes:s3', { sequence_id: 's3' })).toStrictEqual(busy)
    expect(body(await h.drive(work))).toStrictEqual(sizes(...range(1, 20)))
  })

  it('forgets a job no call is running (an evicted one) for another question', async () => {
    const h = setup()
    void h.runner.run('sizes:s20', { sequence_id: 's20' })
    await h.idle()
    h.evict()
    expect(body(await h.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
    expect(job(h)).toMatchObject({ name: 'sizes:s3', state: 'done' })
  })

  it('forgets a finished job for another question', async () => {
    const h = setup()
    await h.run('sizes:s3', { sequence_id: 's3' })
    expect(body(await h.run('sizes:s1', { sequence_id: 's1' }))).toStrictEqual(sizes(1))
    expect(h.runner.store.units()).toStrictEqual(['{"at":0,"ids":["i1"]}'])
  })

  it('takes the same parameters under another name (another caller’s identity) for another question', async () => {
    const h = setup()
    await h.run('sizes:s3', { sequence_id: 's3' })
    expect(body(await h.run('sizes:s3|client:abc', { sequence_id: 's3' }, CLIENT))).toStrictEqual(sizes(1, 2, 3))
    expect(job(h)).toMatchObject({ name: 'sizes:s3|client:abc', client: true })
    expect(graph.calls.slice(4).map((c) => c.auth)).toStrictEqual(Array(4).fill(`OAuth ${CLIENT}`))
  })
})

describe('JobRunner: time', () => {
  const options = { resultTtlMs: 60_000, retainMs: 120_000 }

  it('answers from storage up to resultTtlMs after the end, afresh after it', async () => {
    const h = setup({ options })
    await h.run('sizes:s3', { sequence_id: 's3' })
    clock.now = T0 + 60_000
    expect(body(await h.runner.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
    expect(graph.calls).toHaveLength(4)
    clock.now = T0 + 60_001
    expect(body(await h.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
    expect(graph.calls).toHaveLength(8)
    expect(job(h)).toMatchObject({ createdAt: T0 + 60_001, finishedAt: T0 + 60_001 })
  })

  it('keeps a finished job until retainMs after its end, then empties every table', async () => {
    const h = setup({ options })
    await h.run('sizes:s3', { sequence_id: 's3' })
    expect(h.storage.alarm).toBe(T0 + 120_000)
    clock.now = T0 + 119_999
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(h.storage.alarm).toBe(T0 + 120_000)
    expect(h.storage.count('job', 'units', 'slices')).toStrictEqual([1, 3, 2])
    clock.now = T0 + 120_000
    await h.storage.setAlarm(T0 + 120_000)
    await h.runner.alarm()
    expect(h.storage.alarm).toBeNull()
    expect(h.storage.count('job', 'units', 'slices')).toStrictEqual([0, 0, 0])
    expect(await h.runner.progress()).toStrictEqual({ state: 'empty', role: 'empty', shards: 1, done: 0, total: 0, pending: 0, failed: 0, requests: 0, retries: 0, startedAt: null, updatedAt: null, slices: [] })
  })

  it('keeps a failed job as long', async () => {
    const h = setup({ options })
    await h.run('sizes:sGap', { sequence_id: 'sGap' })
    expect(h.storage.alarm).toBe(T0 + 120_000)
    clock.now = T0 + 119_999
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(job(h)).toMatchObject({ state: 'failed', finishedAt: T0 })
    expect(h.storage.alarm).toBe(T0 + 120_000)
    clock.now = T0 + 120_000
    await h.fire()
    expect(job(h)).toBeUndefined()
  })

  it('tries a failed job again when asked again, under a new bound when given', async () => {
    const h = setup()
    await h.run('sizes:sGap', { sequence_id: 'sGap' })
    // 4 requests so far, a unit still pending: a bound of 1 is over at once.
    expect(await h.run('sizes:sGap', { sequence_id: 'sGap' }, undefined, { maxRequests: 1 })).toStrictEqual({ ok: false, problem: problem('box_too_costly', 'needs 5 after 4', { limit: 1, needed_at_least: 5 }), requests: 4 })
    expect(job(h)).toMatchObject({ state: 'failed', overLimit: true, maxRequests: 1 })
  })

  it('does nothing on an alarm of an empty object', async () => {
    const h = setup()
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(h.storage.alarms).toStrictEqual([])
    expect(h.storage.sql.statements).toBeGreaterThan(0)
  })

  it('answers "still running" after maxWaitMs, and the job goes on', async () => {
    const h = setup({ options: { maxWaitMs: 1_000, pollMs: 5 } })
    const work = h.runner.run('sizes:s20', { sequence_id: 's20' })
    await h.idle()
    clock.now = T0 + 1_000
    await new Promise((r) => setTimeout(r, 30))
    let settled = false
    void work.then(() => (settled = true))
    await h.idle()
    expect(settled).toBe(false)
    clock.now = T0 + 1_001
    expect(await work).toStrictEqual({ ok: false, problem: problem('upstream_unavailable', 'The job is still running; ask again shortly for the complete answer.', { retry_after: 10 }), headers: { 'retry-after': '10' }, requests: 8 })
    expect(job(h)?.state).toBe('running')
    expect(body(await h.run('sizes:s20', { sequence_id: 's20' }))).toStrictEqual(sizes(...range(1, 20)))
  })

  it('arms an alarm for a running job that lost its own, when a waiting call polls', async () => {
    const h = setup({ options: { pollMs: 5 } })
    const work = h.runner.run('sizes:s20', { sequence_id: 's20' })
    await h.idle()
    await h.storage.deleteAlarm()
    clock.now = T0 + 42
    await new Promise((r) => setTimeout(r, 30))
    expect(h.storage.alarm).toBe(T0 + 42)
    expect(body(await h.drive(work))).toStrictEqual(sizes(...range(1, 20)))
  })
})

describe('JobRunner: errors of ours', () => {
  it('tries again after an unexpected error, later each time, and fails with internal_error after maxErrors', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    const h = setup()
    throws.set('i2', [new TypeError('boom'), new TypeError('boom'), new TypeError('boom')])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(job(h)).toMatchObject({ state: 'running', errors: 1 })
    expect(h.storage.alarm).toBe(T0 + 1_000)
    await h.fire()
    await h.idle()
    expect(job(h)).toMatchObject({ state: 'running', errors: 2 })
    expect(h.storage.alarm).toBe(T0 + 1_000 + 2_000)
    const out = await h.drive(work)
    expect(out).toStrictEqual({ ok: false, problem: problem('internal_error', 'An unexpected error occurred on our side.'), requests: 3 })
    expect(log).toHaveBeenCalledWith('job engine: giving up after errors', 'TypeError')
    expect(unitTries(h, '1+1')).toStrictEqual({ tries: 0, state: 'pending' })
  })

  it('logs only the kind of a thrown value that is not an Error', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    const h = setup({ options: { maxErrors: 1 } })
    throws.set('i2', ['a string'])
    expect(await h.run('sizes:s3', { sequence_id: 's3' })).toMatchObject({ ok: false, problem: { code: 'internal_error' } })
    expect(log).toHaveBeenCalledWith('job engine: giving up after errors', 'string')
  })

  it('counts errors in a row only: a slice that goes well resets them', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '2' }, options: { maxErrors: 2 } })
    throws.set('i2', [new TypeError('boom')])
    throws.set('i4', [new TypeError('boom')])
    await h.prepare('sizes:s5', { sequence_id: 's5' })
    await h.fire()
    expect(job(h)?.errors).toBe(1)
    await h.fire()
    expect(job(h)?.errors).toBe(0)
    await h.fire()
    expect(job(h)?.errors).toBe(1)
    await h.drive(h.runner.run('sizes:s5', { sequence_id: 's5' }))
    expect(job(h)?.state).toBe('done')
  })

  it('keeps the stalls counted when an error follows', async () => {
    const h = setup({ settings: { SUBREQUEST_BUDGET: '1' } })
    throws.set('i1', [new TypeError('boom')])
    await h.prepare('sizes:s1', { sequence_id: 's1', sequential: true })
    h.runner.store.setCounters(1, 0, T0)
    await h.fire()
    expect(job(h)).toMatchObject({ stalls: 1, errors: 1 })
  })

  it('starts no unit after an unexpected error in the same slice', async () => {
    const h = setup({ options: { maxInFlight: 1 } })
    throws.set('i1', [new TypeError('boom')])
    const work = h.runner.run('sizes:s3', { sequence_id: 's3' })
    await h.idle()
    expect(graph.paths()).toStrictEqual(['/image_ids'])
    expect(body(await h.drive(work))).toStrictEqual(sizes(1, 2, 3))
  })

  it('changes nothing of a finished job when its alarm fails', async () => {
    const h = setup()
    await h.run('sizes:s3', { sequence_id: 's3' })
    h.storage.setAlarm = () => Promise.reject(new Error('storage down'))
    clock.now = T0 + 10
    await expect(h.runner.alarm()).resolves.toBeUndefined()
    expect(job(h)).toMatchObject({ state: 'done', errors: 0, updatedAt: T0 })
  })

  it('answers internal_error, never a partial answer, when its tables were emptied under it', async () => {
    const h = setup({ options: { maxInFlight: 1 } })
    // One unit at a time: the call waits on the slice when i2 empties the tables.
    before.set('i2', () => h.runner.store.clear())
    expect(await h.run('sizes:s3', { sequence_id: 's3' })).toStrictEqual({ ok: false, problem: problem('internal_error', 'The job lost its plan.'), requests: 0 })
    // The slice ended as any does: the retention alarm behind it.
    expect(h.storage.alarms).toStrictEqual([T0 + 5_000, T0 + 3_600_000])
    const part = setup()
    before.set('i2', () => part.runner.store.clear())
    const answer = await part.drive(part.runner.runPart('q#1/1', { sequence_id: 's3' }, ['{"at":0,"ids":["i1"]}', '{"at":1,"ids":["i2"]}']))
    expect(answer).toStrictEqual({ ok: false, problem: problem('internal_error', 'A part of the job lost its plan.'), requests: 0 })
  })

  it('never lets an alarm throw, even when storage fails', async () => {
    const h = setup()
    await h.prepare('sizes:s3', { sequence_id: 's3' })
    throws.set('i1', [new TypeError('boom')])
    h.storage.setAlarm = () => Promise.reject(new Error('storage down'))
    await expect(h.runner.alarm()).resolves.toBeUndefined()
    expect(job(h)).toMatchObject({ state: 'running', errors: 1 })
  })
})

describe('JobRunner: parts', () => {
  const shards = { maxShards: 3, minPerShard: 2 }

  it('refuses a part call no coordinator makes (another question’s name, no units, units not texts), touching nothing', async () => {
    const h = setup()
    const refused = { ok: false, problem: problem('invalid_parameter', 'The part’s name or units are not valid.'), requests: 0 }
    const unit = '{"at":0,"ids":["i1"]}'
    expect(await h.runner.runPart('other:s3#1/2', { sequence_id: 's3' }, [unit], undefined, { of: 'sizes:s3' })).toStrictEqual(refused)
    expect(await h.runner.runPart('sizes:s3', { sequence_id: 's3' }, [unit], undefined, { of: 'sizes:s3' })).toStrictEqual(refused)
    expect(await h.runner.runPart('sizes:s3#1/2', { sequence_id: 's3' }, [], undefined, { of: 'sizes:s3' })).toStrictEqual(refused)
    expect(await h.runner.runPart('sizes:s3#1/2', { sequence_id: 's3' }, [1 as unknown as string])).toStrictEqual(refused)
    expect(h.runner.store.job()).toBeUndefined()
    expect(graph.calls).toHaveLength(0)
    expect(body(await h.drive(h.runner.runPart('sizes:s3#1/2', { sequence_id: 's3' }, [unit], undefined, { of: 'sizes:s3' }).then((a) => (a.ok ? { ok: true as const, body: `[${a.results.map((r) => r.result).join(',')}]`, requests: a.requests } : a))))).toStrictEqual(sizes(1))
  })

  it('names the part k of n', () => {
    expect(partName('seq:kx7r2u|id|px0', 1, 4)).toBe('seq:kx7r2u|id|px0#2/4')
    expect(partName('q', 0, 1)).toBe('q#1/1')
  })

  it('splits a job with many units across parts, each on its own storage and budget, and joins them in order', async () => {
    const h = setup({ parts: true, options: { shards } })
    const out = await h.run('sizes:s7', { sequence_id: 's7' })
    expect(out).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 7))), requests: 8 })
    expect(job(h)).toMatchObject({ role: 'coordinator', shards: 3, state: 'done' })
    expect([...h.parts.keys()]).toStrictEqual(['sizes:s7#1/3', 'sizes:s7#2/3', 'sizes:s7#3/3'])
    expect([...h.parts.values()].map((p) => [p.runner.store.job()?.role, p.runner.store.units().length, runSlices(p).map((s) => s.budget)])).toStrictEqual([
      ['part', 3, [8]],
      ['part', 2, [8]],
      ['part', 2, [8]],
    ])
    const progress = await h.runner.progress()
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards: 3, done: 7, total: 7, pending: 0, failed: 0, requests: 8, retries: 0, startedAt: T0, updatedAt: T0 })
    expect(progress.slices.map((s) => [s.kind, s.units])).toStrictEqual([
      ['plan', 0],
      ['run', 3],
      ['run', 2],
      ['run', 2],
    ])
    expect(h.storage.alarm).toBe(T0 + 3_600_000)
    // Asked again: every part answers from its storage.
    expect(await h.runner.run('sizes:s7', { sequence_id: 's7' })).toStrictEqual(out)
    expect(graph.calls).toHaveLength(8)
  })

  it('passes a larger bound to its parts when asked again, after a part used up its own', async () => {
    const h = setup({ parts: true, options: { shards } })
    // Part 1's i1 fails every attempt of two slices: 8 requests there, one unit still pending.
    graph.script.set('/i1', Array.from({ length: 6 }, () => ({ status: 500 })))
    const stopped = { ok: false, problem: problem('box_too_costly', 'needs 9 after 8', { limit: 8, needed_at_least: 9 }), headers: {}, requests: 1 + 8 + 2 + 2 }
    expect(await h.run('sizes:s7', { sequence_id: 's7' }, undefined, { maxRequests: 8 })).toStrictEqual(stopped)
    expect(await h.run('sizes:s7', { sequence_id: 's7' }, undefined, { maxRequests: 8 })).toStrictEqual(stopped)
    expect(graph.calls).toHaveLength(13)
    const whole = await h.run('sizes:s7', { sequence_id: 's7' }, undefined, { maxRequests: 20 })
    expect(body(whole)).toStrictEqual(sizes(...range(1, 7)))
    expect(whole.requests).toBe(14)
    expect(job(h)?.maxRequests).toBe(20)
  })

  it('counts the children a part adds in the job’s progress', async () => {
    const h = setup({ parts: true, options: { shards } })
    expect(body(await h.run('sizes:s20|pair', { sequence_id: 's20', plan: 'pair' }))).toStrictEqual(sizes(...range(1, 20)))
    expect(h.runner.store.units()).toHaveLength(19)
    expect(await h.runner.progress()).toMatchObject({ done: 21, total: 21, pending: 0, requests: 21 })
  })

  it('gives each part the bound and the caller’s token', async () => {
    const h = setup({ parts: true, options: { shards } })
    expect(body(await h.run('sizes:s7|c', { sequence_id: 's7' }, CLIENT, { maxRequests: 8 }))).toStrictEqual(sizes(...range(1, 7)))
    expect([...h.parts.values()].map((p) => p.runner.store.job()?.maxRequests)).toStrictEqual([8, 8, 8])
    expect([...h.parts.values()].map((p) => p.runner.store.job()?.client)).toStrictEqual([true, true, true])
    expect(new Set(graph.calls.map((c) => c.auth))).toStrictEqual(new Set([`OAuth ${CLIENT}`]))
  })

  it('runs the parts side by side in their own slices', async () => {
    const h = setup({ parts: true, settings: { SUBREQUEST_BUDGET: '2' }, options: { shards } })
    expect(body(await h.run('sizes:s7', { sequence_id: 's7' }))).toStrictEqual(sizes(...range(1, 7)))
    expect([...h.parts.values()].map((p) => runSlices(p).map((s) => s.units))).toStrictEqual([[2, 1], [2], [2]])
  })

  it('reports the parts’ progress summed, their units pending until they plan', async () => {
    const h = setup({ parts: true, options: { shards } })
    await h.runner.prepare('sizes:s7', { sequence_id: 's7' })
    expect(h.storage.alarm).toBe(T0 + 3_600_000)
    expect(await h.runner.progress()).toMatchObject({ state: 'running', role: 'coordinator', shards: 3, done: 0, total: 7, pending: 7, failed: 0, requests: 1, updatedAt: T0 })
    // Part 2 runs its two images; part 3 finishes i7 while i6 fails its three attempts.
    clock.now = T0 + 10
    await h.part('sizes:s7#2/3').runner.runPart('sizes:s7#2/3', { sequence_id: 's7' }, h.runner.store.units().slice(3, 5))
    graph.script.set('/i6', [{ status: 500 }, { status: 500 }, { status: 500 }])
    clock.now = T0 + 20
    const third = h.part('sizes:s7#3/3').runner.runPart('sizes:s7#3/3', { sequence_id: 's7' }, h.runner.store.units().slice(5))
    await h.idle()
    const progress = await h.runner.progress()
    expect(progress).toMatchObject({ state: 'running', role: 'coordinator', done: 3, total: 7, pending: 4, failed: 0, requests: 1 + 2 + 4, retries: 2, startedAt: T0, updatedAt: T0 + 20 })
    expect(progress.slices.map((s) => [s.kind, s.startedAt, s.units])).toStrictEqual([
      ['plan', T0, 0],
      ['run', T0 + 10, 2],
      ['run', T0 + 20, 1],
    ])
    await h.drive(third)
  })

  it('does not split without a way to reach parts, without shard settings, nor a job with few units', async () => {
    const noShards = setup({ parts: true })
    expect(body(await noShards.run('sizes:s20', { sequence_id: 's20' }))).toStrictEqual(sizes(...range(1, 20)))
    expect(job(noShards)).toMatchObject({ role: 'whole', shards: 1 })
    const noParts = setup({ options: { shards } })
    expect(body(await noParts.run('sizes:s7', { sequence_id: 's7' }))).toStrictEqual(sizes(...range(1, 7)))
    expect(job(noParts)?.role).toBe('whole')
    const few = setup({ parts: true, options: { shards } })
    expect(body(await few.run('sizes:s3', { sequence_id: 's3' }))).toStrictEqual(sizes(1, 2, 3))
    expect(job(few)).toMatchObject({ role: 'whole', shards: 1 })
    expect(few.parts.size).toBe(0)
  })

  it('fails the whole job with a part’s problem, never a partial answer; asked again, only that part works', async () => {
    const h = setup({ parts: true, options: { shards } })
    graph.script.set('/i5', [notFound('i5')])
    const out = await h.run('sizes:s7', { sequence_id: 's7' })
    expect(out).toStrictEqual({ ok: false, problem: problem('upstream_error', 'unit 4: not_found (server)'), headers: { 'x-reason': 'not_found' }, requests: 8 })
    expect(job(h)).toMatchObject({ state: 'failed', problem: { detail: 'unit 4: not_found (server)' }, headers: { 'x-reason': 'not_found' } })
    expect(await h.runner.progress()).toMatchObject({ state: 'failed', done: 6, failed: 1, pending: 0, total: 7 })
    const again = await h.run('sizes:s7', { sequence_id: 's7' })
    expect(body(again)).toStrictEqual(sizes(...range(1, 7)))
    expect(again.requests).toBe(9)
    expect(graph.paths().slice(8)).toStrictEqual(['/i5'])
  })

  it('stores no headers for a part’s problem that has none', async () => {
    const h = setup({ parts: true, task: plainTask, options: { shards } })
    graph.script.set('/i5', [notFound('i5')])
    const out = await h.run('sizes:s7', { sequence_id: 's7' })
    expect(out).toStrictEqual({ ok: false, problem: problem('not_found', 'The upstream has no object with this id.'), headers: {}, requests: 8 })
    expect(job(h)?.headers).toBeUndefined()
  })

  it.each<[unknown, string]>([
    [new TypeError('gone'), 'TypeError'],
    ['gone', 'string'],
  ])('answers internal_error when a part cannot be reached (%s), after trying a fresh stub where the runtime allows', async (thrown, logged) => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    let calls = 0
    const flaky = Object.assign(new Error('object reset'), { retryable: true })
    const h = setup({
      parts: true,
      options: { shards },
      wrapPart: (name, stub) => ({
        progress: () => stub.progress(),
        runPart: (...a) => {
          if (name.endsWith('#2/3') && ++calls <= 1) return Promise.reject(flaky)
          if (name.endsWith('#3/3')) return Promise.reject(thrown)
          return stub.runPart(...a)
        },
      }),
    })
    const out = await h.run('sizes:s7', { sequence_id: 's7' })
    expect(out).toStrictEqual({ ok: false, problem: problem('internal_error', 'A part of the job failed on our side; ask again to resume.'), headers: {}, requests: 1 + 3 + 2 })
    expect(calls).toBe(2)
    expect(log.mock.calls).toStrictEqual([['job engine: a part failed', logged]])
  })

  it('fails when a part answers for other units than it was given', async () => {
    const h = setup({
      parts: true,
      options: { shards },
      wrapPart: (name, stub) => ({
        progress: () => stub.progress(),
        runPart: async (...a) => {
          const r = await stub.runPart(...a)
          return name.endsWith('#1/3') && r.ok ? { ...r, units: 2 } : r
        },
      }),
    })
    expect(await h.run('sizes:s7', { sequence_id: 's7' })).toStrictEqual({ ok: false, problem: problem('internal_error', 'Part 1 of the job answered for other units; ask again to resume.'), requests: 8 })
    expect(job(h)).toMatchObject({ state: 'failed', problem: { code: 'internal_error' } })
  })

  it('answers the task’s refusal of the joined results', async () => {
    const h = setup({ parts: true, options: { shards: { maxShards: 2, minPerShard: 1 } } })
    const out = await h.run('sizes:sZero', { sequence_id: 'sZero' })
    expect(out).toStrictEqual({ ok: false, problem: problem('incomplete_result', 'Image z1 has no size.'), headers: { 'x-incomplete': 'z1' }, requests: 3 })
    expect(job(h)).toMatchObject({ role: 'coordinator', state: 'done' })
  })

  it('a part answers its own results and forgets them for other units under its name', async () => {
    const h = setup()
    const units = ['{"at":0,"ids":["i1"]}', '{"at":1,"ids":["i2"]}']
    const answer: PartAnswer = await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, units))
    expect(answer).toStrictEqual({
      ok: true,
      results: [
        { unit: units[0], result: JSON.stringify(size(1)) },
        { unit: units[1], result: JSON.stringify(size(2)) },
      ],
      units: 2,
      requests: 2,
    })
    expect(job(h)).toMatchObject({ role: 'part', name: 'q#1/2', state: 'done' })
    // Asked again: from storage, building no answer (a part only hands its results over).
    const built = seen.answers
    expect(await h.runner.runPart('q#1/2', { sequence_id: 's3' }, units)).toStrictEqual(answer)
    expect(graph.calls).toHaveLength(2)
    expect(seen.answers).toBe(built)
    // Other units under its name: as many but not the same, fewer, or its own and one more.
    const other = ['{"at":0,"ids":["i1"]}', '{"at":1,"ids":["i3"]}']
    expect(await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, other))).toStrictEqual({
      ok: true,
      results: [
        { unit: other[0], result: JSON.stringify(size(1)) },
        { unit: other[1], result: JSON.stringify(size(3)) },
      ],
      units: 2,
      requests: 2,
    })
    const fewer = other.slice(1)
    expect(await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, fewer))).toStrictEqual({ ok: true, results: [{ unit: fewer[0], result: JSON.stringify(size(3)) }], units: 1, requests: 1 })
    const more = [...fewer, '{"at":2,"ids":["i2"]}']
    expect(await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, more))).toMatchObject({ ok: true, units: 2, requests: 2 })
  })

  it('a part answers its failure; asked again, it tries again', async () => {
    const h = setup()
    const units = ['{"at":0,"ids":["i1"]}', '{"at":1,"ids":["nope"]}']
    const failed = { ok: false, problem: problem('upstream_error', 'unit 1: not_found (server)'), headers: { 'x-reason': 'not_found' } }
    expect(await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, units))).toStrictEqual({ ...failed, requests: 2 })
    expect(await h.drive(h.runner.runPart('q#1/2', { sequence_id: 's3' }, units))).toStrictEqual({ ...failed, requests: 3 })
  })

  it('a part answers "still running" past maxWaitMs', async () => {
    const h = setup({ options: { pollMs: 5, maxWaitMs: 0 }, settings: { SUBREQUEST_BUDGET: '1' } })
    const units = ['{"at":0,"ids":["i1"]}', '{"at":1,"ids":["i2"]}']
    const running = h.runner.runPart('q#1/2', { sequence_id: 's3' }, units)
    await h.idle()
    clock.now = T0 + 1
    expect(await running).toStrictEqual({ ok: false, problem: problem('upstream_unavailable', 'The job is still running; ask again shortly for the complete answer.', { retry_after: 10 }), headers: { 'retry-after': '10' }, requests: 1 })
  })

  it('keeps a finished coordinator for retainMs after its end, not its start', async () => {
    const h = setup({ parts: true, options: { shards } })
    graph.script.set('/i1', [{ status: 429, headers: { 'retry-after': '7' } }])
    expect(body(await h.run('sizes:s7', { sequence_id: 's7' }))).toStrictEqual(sizes(...range(1, 7)))
    expect(job(h)).toMatchObject({ state: 'done', createdAt: T0, finishedAt: T0 + 7_000 })
    expect(h.storage.alarm).toBe(T0 + 3_607_000)
    clock.now = T0 + 3_600_000
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(job(h)?.state).toBe('done')
    expect(h.storage.alarm).toBe(T0 + 3_607_000)
    clock.now = T0 + 3_607_000
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(job(h)).toBeUndefined()
  })

  it('keeps a running coordinator’s plan for retainMs, then forgets it unless a call still waits on it', async () => {
    const h = setup({ parts: true, options: { shards, retainMs: 120_000, pollMs: 7 } })
    await h.runner.prepare('sizes:s7', { sequence_id: 's7' })
    expect(h.storage.alarm).toBe(T0 + 120_000)
    clock.now = T0 + 10
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(h.storage.alarm).toBe(T0 + 120_000)
    // A call waiting on its parts at the end of retention: tried again a poll later.
    graph.hold()
    const work = h.runner.run('sizes:s7', { sequence_id: 's7' })
    await h.idle()
    clock.now = T0 + 120_000
    await h.storage.fireAlarm(() => h.runner.alarm())
    expect(h.storage.alarm).toBe(T0 + 120_007)
    graph.release()
    expect(body(await h.drive(work))).toStrictEqual(sizes(...range(1, 7)))
    // No call waiting: forgotten at the end of retention.
    clock.now = T0
    const other = setup({ parts: true, options: { shards, retainMs: 120_000 } })
    await other.runner.prepare('sizes:s7', { sequence_id: 's7' })
    clock.now = T0 + 120_000
    await other.storage.fireAlarm(() => other.runner.alarm())
    expect(job(other)).toBeUndefined()
    expect(other.storage.alarm).toBeNull()
  })
})

describe('JobRunner: helpers', () => {
  /** A helper's calls as the slice makes them: name, units (their image ids) and budget; the most out at once. */
  function recording(fail?: (name: string, call: number) => 'before' | 'after' | undefined) {
    const calls: Array<{ name: string; ids: string[]; budget: number | undefined }> = []
    const state = { out: 0, peak: 0 }
    const wrapHelper = (name: string, stub: HelperStub): HelperStub => ({
      runUnits: async (...a) => {
        calls.push({ name: name.slice(name.indexOf('~')), ids: a[2].flatMap((u) => (JSON.parse(u) as Unit).ids), budget: a[4]?.budget })
        const how = fail?.(name, calls.filter((c) => name.endsWith(c.name)).length)
        state.peak = Math.max(state.peak, ++state.out)
        try {
          if (how === 'before') throw new TypeError('gone')
          const r = await stub.runUnits(...a)
          if (how === 'after') throw new TypeError('gone')
          return r
        } finally {
          state.out--
        }
      },
    })
    return { calls, state, wrapHelper }
  }
  const twenty = { sequence_id: '-', given: ids(...range(1, 20)) }
  const sorted = (xs: string[]) => xs.slice().sort()
  const everyImageOnce = () => sorted(range(1, 20).map((n) => `/i${n}`))

  it('runs six units itself first, hands the rest to helpers in groups of at most unitsPerHelper, at most max at once', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    graph.hold()
    const work = h.runner.run('sizes:twenty', twenty)
    await h.idle()
    // Held upstream: six of the slice's own, two groups of three; nothing more starts.
    expect(r.calls).toStrictEqual([
      { name: '~h0', ids: ids(7, 8, 9), budget: 6 },
      { name: '~h1', ids: ids(10, 11, 12), budget: 6 },
    ])
    expect(sorted(graph.paths())).toStrictEqual(sorted(range(1, 12).map((n) => `/i${n}`)))
    expect(graph.inFlight).toBe(12)
    graph.release()
    expect(await h.drive(work)).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 20 })
    expect(sorted(graph.paths())).toStrictEqual(everyImageOnce())
    expect(r.state.peak).toBe(2)
    expect(r.calls.every((c) => c.ids.length <= 3 && (c.name === '~h0' || c.name === '~h1'))).toBe(true)
    // Each helper call has a slice row of its own: every row one object's, within 6 connections.
    const rows = runSlices(h)
    expect(rows.length).toBe(1 + r.calls.length)
    expect(rows.reduce((n, s) => n + s.attempts, 0)).toBe(20)
    expect(rows.reduce((n, s) => n + s.units, 0)).toBe(20)
    expect(Math.max(...rows.map((s) => s.inFlightPeak))).toBe(6)
    expect(await h.runner.progress()).toMatchObject({ state: 'done', done: 20, total: 20, pending: 0, requests: 20 })
  })

  it('gives the children of a split unit to a helper as soon as its group answers, while its peers are still out', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 4, unitsPerHelper: 6 } } })
    graph.hold()
    const work = h.runner.run('sizes:pair', { ...twenty, plan: 'pair' })
    await h.idle()
    // The pair (i19, i20) splits without a request: its two children go out before anything answered.
    expect(r.calls).toStrictEqual([
      { name: '~h0', ids: ids(7, 8, 9, 10, 11, 12), budget: 12 },
      { name: '~h1', ids: ids(13, 14, 15, 16, 17, 18), budget: 12 },
      { name: '~h2', ids: ids(19, 20), budget: 2 },
      { name: '~h2', ids: ids(19, 20), budget: 4 },
    ])
    expect(sorted(graph.paths())).toStrictEqual(everyImageOnce())
    graph.release()
    expect(await h.drive(work)).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 20 })
    expect(await h.runner.progress()).toMatchObject({ done: 21, total: 21 })
  })

  it('counts the helpers’ attempts against the job’s bound: a retry in a helper ends the job at the bound, never past it', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 4, unitsPerHelper: 6 } } })
    graph.script.set('/i7', [{ status: 500 }])
    const out = await h.run('sizes:bound', twenty, undefined, { maxRequests: 20 })
    expect(out).toStrictEqual({ ok: false, problem: problem('box_too_costly', 'needs 21 after 20', { limit: 20, needed_at_least: 21 }), requests: 20 })
    // Of the bound, the slice's own share is its 6 connections' of 30: 4 attempts; the helpers' 16.
    expect(r.calls.slice(0, 2)).toStrictEqual([
      { name: '~h0', ids: ids(5, 6, 7, 8, 9, 10), budget: 12 },
      { name: '~h1', ids: ids(11, 12, 13, 14), budget: 4 },
    ])
    expect(graph.calls).toHaveLength(20)
    expect(h.runner.store.spent().requests).toBe(20)
    expect(storageRow(h.storage, "SELECT count(*) AS n FROM units WHERE state = 'pending'")).toStrictEqual({ n: 1 })
  })

  it('leaves the helpers their share of the bound when the invocation’s budget is larger than the bound', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '1000' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    graph.hold()
    const work = h.runner.run('sizes:share', twenty, undefined, { maxRequests: 40 })
    await h.idle()
    // Its own share: 6 connections of 12, half of the 40; the helpers' budgets come out of the other half.
    expect(r.calls).toStrictEqual([
      { name: '~h0', ids: ids(7, 8, 9), budget: 6 },
      { name: '~h1', ids: ids(10, 11, 12), budget: 6 },
    ])
    graph.release()
    expect(await h.drive(work)).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 20 })
    expect(runSlices(h)[0]!.budget).toBe(20)
  })

  it('leaves the units of a helper that throws pending for the next slice: each asked once, the answer whole', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    const r = recording((name, call) => (name.endsWith('~h1') && call === 1 ? 'before' : undefined))
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    const out = await h.run('sizes:throws', twenty)
    // Its attempts are not known: its whole budget (6) counts, so the bound can never be passed.
    expect(out).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 26 })
    expect(sorted(graph.paths())).toStrictEqual(everyImageOnce())
    expect(r.calls[1]).toStrictEqual({ name: '~h1', ids: ids(10, 11, 12), budget: 6 })
    expect(log.mock.calls).toStrictEqual([['job engine: a helper failed', 'TypeError']])
    expect(runSlices(h).filter((s) => s.units > 0).length).toBeGreaterThan(1)
  })

  it('stores a unit once when a helper ran it but its answer was lost: asked again, one result', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const r = recording((name, call) => (name.endsWith('~h0') && call === 1 ? 'after' : undefined))
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    const out = await h.run('sizes:lost', twenty)
    expect(out).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 26 })
    expect(sorted(graph.paths())).toStrictEqual(sorted([...everyImageOnce(), '/i7', '/i8', '/i9']))
    expect(storageRow(h.storage, "SELECT count(*) AS n FROM units WHERE state = 'done'")).toStrictEqual({ n: 20 })
  })

  it('treats a unit that fails in a helper as a local failure: the task’s problem names it', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    graph.script.set('/i8', [notFound('i8')])
    const out = await h.run('sizes:fails', twenty)
    expect(out).toMatchObject({ ok: false, problem: problem('upstream_error', 'unit 7: not_found (server)'), headers: { 'x-reason': 'not_found' } })
    expect(unitTries(h, '7+1')).toStrictEqual({ tries: 1, state: 'failed' })
    expect(r.calls[0]).toStrictEqual({ name: '~h0', ids: ids(7, 8, 9), budget: 6 })
  })

  it('tries a unit that failed transiently in a helper again in a later slice, one try spent', async () => {
    const r = recording()
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })
    graph.script.set('/i8', [{ status: 500 }, { status: 500 }, { status: 500 }])
    const out = await h.run('sizes:transient', twenty)
    expect(out).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 23 })
    expect(unitTries(h, '7+1')).toStrictEqual({ tries: 1, state: 'done' })
    expect(graph.paths().filter((p) => p === '/i8')).toHaveLength(4)
    expect(r.calls[0]).toStrictEqual({ name: '~h0', ids: ids(7, 8, 9), budget: 6 })
  })

  it('gives helper calls all the invocation’s budget its own attempts leave: 120 units in one slice, not two', async () => {
    const r = recording()
    const many = { sequence_id: '-', given: ids(...range(1, 120)) }
    const h = setup({ helpers: true, wrapHelper: r.wrapHelper, settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 16, unitsPerHelper: 6 } } })
    const work = h.runner.run('sizes:many', many, undefined, { maxRequests: 200 })
    await h.idle()
    // Its own share of the bound is 12 attempts (6 connections of 102); the other 18 of its 30 are
    // helper calls of 6 units each: 12 + 18 × 6 = 120, all in the first slice, no alarm needed.
    expect(await h.runner.progress()).toMatchObject({ state: 'done', done: 120, total: 120, requests: 120 })
    expect(r.calls).toHaveLength(18)
    expect(r.calls.every((c) => c.ids.length === 6)).toBe(true)
    expect(await h.drive(work)).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 120))), requests: 120 })
  })

  it('uses no helper when the option is absent or its host has none (today’s six at a time)', async () => {
    for (const h of [setup({ helpers: true, settings: { SUBREQUEST_BUDGET: '30' } }), setup({ settings: { SUBREQUEST_BUDGET: '30' }, options: { helpers: { max: 2, unitsPerHelper: 3 } } })]) {
      graph = new FakeGraph()
      vi.stubGlobal('fetch', graph.fetch)
      expect(await h.run('sizes:alone', twenty)).toStrictEqual({ ok: true, body: JSON.stringify(sizes(...range(1, 20))), requests: 20 })
      expect(h.helpers.size).toBe(0)
      expect(graph.peak).toBe(6)
    }
  })

  it('runs units as a helper only under a helper’s name of its question, within the budget it is given', async () => {
    const h = setup()
    const refused = { ok: false, problem: problem('invalid_parameter', 'The helper’s name, units or budget are not valid.'), requests: 0 }
    const unit = JSON.stringify({ at: 0, ids: ['i1'] })
    const of = 'sizes:s3'
    for (const [name, units, budget] of [
      ['sizes:s3', [unit], undefined],
      ['sizes:s3#1/2', [unit], undefined],
      ['other:s3~h0', [unit], undefined],
      ['sizes:s3~h0x', [unit], undefined],
      ['sizes:s3~h0', [], undefined],
      ['sizes:s3~h0', ['{'], undefined],
      ['sizes:s3~h0', [1], undefined],
      ['sizes:s3~h0', Array(65).fill(unit), undefined],
      ['sizes:s3~h0', [unit], 0],
      ['sizes:s3~h0', [unit], 1.5],
    ] as Array<[string, string[], number | undefined]>) {
      expect(await h.runner.runUnits(name, { sequence_id: 's3' }, units, undefined, { of, ...(budget !== undefined ? { budget } : {}) })).toStrictEqual(refused)
    }
    expect(graph.calls).toHaveLength(0)
    const two = [unit, JSON.stringify({ at: 1, ids: ['i2'] }), JSON.stringify({ at: 2, ids: ['i1', 'i3'] })]
    expect(await h.runner.runUnits('sizes:s3#2/4~h3', { sequence_id: 's3' }, two, undefined, { of, budget: 1 })).toStrictEqual({
      ok: true,
      outcomes: [{ result: JSON.stringify(size(1)) }, { skipped: true }, { skipped: true }],
      counts: { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 },
    })
    graph.script.set('/i2', [notFound('i2')])
    expect(await h.runner.runUnits('sizes:s3~h0', { sequence_id: 's3' }, two, undefined, { of })).toMatchObject({
      ok: true,
      outcomes: [{ result: JSON.stringify(size(1)) }, { error: { reason: 'not_found', status: 400, graphCode: 100 } }, { children: [JSON.stringify({ at: 2, ids: ['i1'] }), JSON.stringify({ at: 3, ids: ['i3'] })] }],
    })
    // It keeps nothing: the calling slice stores the outcomes.
    expect(h.runner.store.job()).toBeUndefined()
  })
})
