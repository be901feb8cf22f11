/**
 * JobStore on Node's SQLite (test/support/sqlite-storage.ts stands in for a Durable Object's
 * storage): every table write and read, with the values a job object keeps.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { SqliteStorage } from '../../test/support/sqlite-storage'
import { problem } from '../problem/problem'
import { JobStore, type SliceCounts } from './job-store'

const T0 = 1_700_000_000_000
const ZERO: SliceCounts = { requests: 0, attempts: 0, retries: 0, inFlightPeak: 0 }
const unitRows = (...keys: string[]) => keys.map((k) => [k, JSON.stringify({ k })] as const)

let storage: SqliteStorage
let store: JobStore

beforeEach(() => {
  storage = new SqliteStorage()
  store = new JobStore(storage as unknown as DurableObjectStorage)
})

describe('JobStore.start and job', () => {
  it('holds no job in fresh tables', () => {
    expect(store.job()).toBeUndefined()
    expect(store.counts()).toStrictEqual({ pending: 0, done: 0, split: 0, failed: 0 })
    expect(store.spent()).toStrictEqual({ requests: 0, retries: 0 })
    expect(store.slices()).toStrictEqual([])
    expect(store.pending()).toStrictEqual([])
    expect(store.results()).toStrictEqual([])
    expect(store.units()).toStrictEqual([])
  })

  it('opens on tables that exist already (an object woken again), keeping what they hold', () => {
    store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a'), T0)
    const again = new JobStore(storage as unknown as DurableObjectStorage)
    expect(again.job()?.name).toBe('j')
    expect(again.units()).toStrictEqual(['{"k":"a"}'])
  })

  it('stores a running job with the defaults: one shard, the server token, no bound', () => {
    store.start({ name: 'seq:abc|server', role: 'whole', params: '{"id":"abc"}' }, unitRows('a', 'b'), T0)
    expect(store.job()).toStrictEqual({
      name: 'seq:abc|server',
      role: 'whole',
      params: '{"id":"abc"}',
      state: 'running',
      shards: 1,
      client: false,
      overLimit: false,
      stalls: 0,
      errors: 0,
      createdAt: T0,
      updatedAt: T0,
    })
  })

  it('stores shards, a client token and a bound when given', () => {
    store.start({ name: 'c', role: 'coordinator', params: '[1]', shards: 3, client: true, maxRequests: 40 }, unitRows('a'), T0)
    expect(store.job()).toMatchObject({ role: 'coordinator', shards: 3, client: true, maxRequests: 40, overLimit: false })
  })

  it('keeps a bound of 0', () => {
    store.start({ name: 'c', role: 'part', params: '[]', maxRequests: 0 }, [], T0)
    expect(store.job()?.maxRequests).toBe(0)
  })

  it('stores the units in plan order, a key given twice once (its first unit)', () => {
    store.start({ name: 'j', role: 'whole', params: '{}' }, [['b', '"B"'], ['a', '"A"'], ['b', '"B again"'], ['c', '"C"']], T0)
    expect(store.units()).toStrictEqual(['"B"', '"A"', '"C"'])
    expect(store.pending().map((u) => [u.key, u.unit, u.tries])).toStrictEqual([
      ['b', '"B"', 0],
      ['a', '"A"', 0],
      ['c', '"C"', 0],
    ])
    expect(store.counts()).toStrictEqual({ pending: 3, done: 0, split: 0, failed: 0 })
  })

  it('stores more units than one statement may bind parameters (one row per statement)', () => {
    const keys = Array.from({ length: 150 }, (_, i) => `u${i}`)
    store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows(...keys), T0)
    expect(store.counts().pending).toBe(150)
    expect(store.pending().at(-1)?.key).toBe('u149')
  })

  it("records the plan's upstream calls as a finished 'plan' slice", () => {
    store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a'), T0, { requests: 1, attempts: 3, retries: 2, inFlightPeak: 1 })
    expect(store.slices()).toStrictEqual([{ n: 1, kind: 'plan', startedAt: T0, finishedAt: T0, budget: 0, requests: 1, attempts: 3, retries: 2, inFlightPeak: 1, units: 0 }])
    expect(store.spent()).toStrictEqual({ requests: 3, retries: 2 })
  })

  it('forgets the previous job, its units and its slices', () => {
    store.start({ name: 'old', role: 'whole', params: '1', client: true, maxRequests: 5 }, unitRows('a', 'b'), T0, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })
    store.finish('failed', T0 + 1, { problem: problem('not_found', 'gone') })
    store.start({ name: 'new', role: 'whole', params: '2' }, unitRows('c'), T0 + 2)
    expect(store.job()).toMatchObject({ name: 'new', params: '2', state: 'running', client: false, createdAt: T0 + 2 })
    expect(store.job()?.maxRequests).toBeUndefined()
    expect(store.job()?.problem).toBeUndefined()
    expect(store.units()).toStrictEqual(['{"k":"c"}'])
    expect(store.slices()).toStrictEqual([])
  })

  it('clear empties every table', () => {
    store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a'), T0, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })
    store.clear()
    expect(store.job()).toBeUndefined()
    expect(storage.count('job', 'units', 'slices')).toStrictEqual([0, 0, 0])
  })
})

describe('JobStore units', () => {
  beforeEach(() => store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a', 'b', 'c', 'd'), T0))

  it('pending answers the first `limit` pending units, in plan order', () => {
    expect(store.pending(2).map((u) => u.key)).toStrictEqual(['a', 'b'])
    expect(store.pending().map((u) => u.key)).toStrictEqual(['a', 'b', 'c', 'd'])
    const [a] = store.pending(1)
    store.complete(store.beginSlice('run', 8, T0), a!, { result: 'A' }, ZERO)
    expect(store.pending(2).map((u) => u.key)).toStrictEqual(['b', 'c'])
  })

  it('complete stores a result, the unit done in that slice; results are in plan order', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a, b, c] = store.pending()
    expect(store.complete(slice, c!, { result: 'C' }, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })).toStrictEqual([])
    store.complete(slice, a!, { result: 'A' }, { requests: 2, attempts: 3, retries: 1, inFlightPeak: 2 })
    store.complete(slice, b!, {}, { requests: 3, attempts: 4, retries: 1, inFlightPeak: 1 })
    expect(store.results()).toStrictEqual([
      { unit: '{"k":"a"}', result: 'A' },
      { unit: '{"k":"b"}', result: '' },
      { unit: '{"k":"c"}', result: 'C' },
    ])
    expect(store.counts()).toStrictEqual({ pending: 1, done: 3, split: 0, failed: 0 })
    // The slice holds the client's latest counts, its highest peak and the units it finished.
    expect(store.slices()).toStrictEqual([{ n: 1, kind: 'run', startedAt: T0, finishedAt: null, budget: 8, requests: 3, attempts: 4, retries: 1, inFlightPeak: 2, units: 3 }])
    expect(Number(storage.sql.exec('SELECT slice FROM units WHERE key = ?', 'a').one().slice)).toBe(slice)
  })

  it('complete with children splits the unit: the children are pending after every unit there is, parent kept', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a] = store.pending()
    const added = store.complete(slice, a!, { children: [['a1', '"a1"'], ['a2', '"a2"']] }, ZERO)
    expect(added).toStrictEqual([
      { id: 5, key: 'a1', unit: '"a1"', tries: 0 },
      { id: 6, key: 'a2', unit: '"a2"', tries: 0 },
    ])
    expect(store.pending().map((u) => u.key)).toStrictEqual(['b', 'c', 'd', 'a1', 'a2'])
    expect(store.counts()).toStrictEqual({ pending: 5, done: 0, split: 1, failed: 0 })
    // units() is the plan a coordinator hands its parts: children are not in it.
    expect(store.units()).toStrictEqual(['{"k":"a"}', '{"k":"b"}', '{"k":"c"}', '{"k":"d"}'])
    expect(storage.sql.exec("SELECT parent, state FROM units WHERE key = 'a2'").one()).toStrictEqual({ parent: a!.id, state: 'pending' })
    expect(storage.sql.exec("SELECT state, slice FROM units WHERE key = 'a'").one()).toStrictEqual({ state: 'split', slice })
    expect(store.slices()[0]?.units).toBe(1)
  })

  it('adds a child whose key is known already nothing (a replayed split)', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a, b] = store.pending()
    store.complete(slice, a!, { children: [['x', '"x"'], ['y', '"y"']] }, ZERO)
    const added = store.complete(slice, b!, { children: [['y', '"y from b"'], ['z', '"z"'], ['c', '"c again"']] }, ZERO)
    expect(added.map((u) => u.key)).toStrictEqual(['z'])
    expect(store.pending().map((u) => u.unit)).toStrictEqual(['{"k":"c"}', '{"k":"d"}', '"x"', '"y"', '"z"'])
  })

  it('leaves a unit that is no longer pending alone (an alarm run twice), counting the slice but no unit', () => {
    const first = store.beginSlice('run', 8, T0)
    const [a] = store.pending()
    store.complete(first, a!, { result: 'first' }, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })
    const second = store.beginSlice('run', 8, T0 + 1)
    expect(store.complete(second, a!, { children: [['n', '"n"']] }, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })).toStrictEqual([])
    expect(store.complete(second, a!, { result: 'second' }, { requests: 2, attempts: 2, retries: 0, inFlightPeak: 1 })).toStrictEqual([])
    expect(store.results()).toStrictEqual([{ unit: '{"k":"a"}', result: 'first' }])
    expect(store.counts()).toStrictEqual({ pending: 3, done: 1, split: 0, failed: 0 })
    expect(store.slices().map((s) => [s.n, s.attempts, s.units])).toStrictEqual([
      [1, 1, 1],
      [2, 2, 0],
    ])
  })

  it('unitFailed adds a try; the last one fails the unit; a unit no longer pending is left alone', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a, b] = store.pending()
    store.unitFailed(a!, false, slice, { requests: 1, attempts: 3, retries: 2, inFlightPeak: 1 })
    expect(store.pending(1)).toStrictEqual([{ id: a!.id, key: 'a', unit: '{"k":"a"}', tries: 1 }])
    store.unitFailed(a!, true, slice, { requests: 2, attempts: 6, retries: 4, inFlightPeak: 1 })
    expect(store.counts()).toStrictEqual({ pending: 3, done: 0, split: 0, failed: 1 })
    expect(storage.sql.exec("SELECT tries, state, slice FROM units WHERE key = 'a'").one()).toStrictEqual({ tries: 2, state: 'failed', slice })
    store.unitFailed(a!, false, slice, ZERO)
    expect(storage.sql.exec("SELECT tries, state FROM units WHERE key = 'a'").one()).toStrictEqual({ tries: 2, state: 'failed' })
    store.complete(slice, b!, { result: 'B' }, ZERO)
    store.unitFailed(b!, true, slice, ZERO)
    expect(store.results()).toStrictEqual([{ unit: '{"k":"b"}', result: 'B' }])
    expect(store.slices()[0]).toMatchObject({ requests: 0, attempts: 0, retries: 0, inFlightPeak: 1, units: 1 })
  })

  it('retry puts failed and pending units back with fresh tries, keeps finished ones and clears the failure', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a, b, c] = store.pending()
    store.complete(slice, a!, { result: 'A' }, ZERO)
    store.complete(slice, d(), { children: [['d1', '"d1"']] }, ZERO)
    store.unitFailed(b!, true, slice, ZERO)
    store.unitFailed(c!, false, slice, ZERO)
    store.setCounters(2, 1, T0 + 5)
    store.finish('failed', T0 + 10, { problem: problem('upstream_unavailable', 'down'), headers: { 'retry-after': '9' } })
    store.retry(T0 + 20)
    expect(store.pending().map((u) => [u.key, u.tries])).toStrictEqual([
      ['b', 0],
      ['c', 0],
      ['d1', 0],
    ])
    expect(store.counts()).toStrictEqual({ pending: 3, done: 1, split: 1, failed: 0 })
    expect(store.job()).toStrictEqual({ name: 'j', role: 'whole', params: '{}', state: 'running', shards: 1, client: false, overLimit: false, stalls: 0, errors: 0, createdAt: T0, updatedAt: T0 + 20 })

    function d() {
      return store.pending().find((u) => u.key === 'd')!
    }
  })

  it('retry sets a new bound when given one, else keeps the job its own', () => {
    store.start({ name: 'j', role: 'whole', params: '{}', maxRequests: 30 }, unitRows('a'), T0)
    store.finish('failed', T0 + 1, { problem: problem('box_too_costly', 'over') }, true)
    store.retry(T0 + 2)
    expect(store.job()).toMatchObject({ maxRequests: 30, state: 'running' })
    store.retry(T0 + 3, 100)
    expect(store.job()?.maxRequests).toBe(100)
    store.retry(T0 + 4, 0)
    expect(store.job()?.maxRequests).toBe(0)
  })
})

describe('JobStore.resultsNotIn (a reader following a running job)', () => {
  beforeEach(() => store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a', 'b', 'c', 'd'), T0))

  it('answers each finished unit once across reads, whatever order they finish in; split and pending units never', () => {
    const slice = store.beginSlice('run', 8, T0)
    const [a, b, c, d] = store.pending()
    expect(store.resultsNotIn([])).toStrictEqual([])
    // c finishes before a: a cursor on the highest id read would skip a.
    store.complete(slice, c!, { result: 'C' }, ZERO)
    const first = store.resultsNotIn([])
    expect(first).toStrictEqual([{ id: c!.id, result: 'C' }])
    store.complete(slice, a!, { result: 'A' }, ZERO)
    store.complete(slice, b!, { children: [['b1', '"b1"']] }, ZERO)
    const seen = first.map((r) => r.id)
    expect(store.resultsNotIn(seen)).toStrictEqual([{ id: a!.id, result: 'A' }])
    seen.push(a!.id)
    const [b1] = store.pending().filter((u) => u.key === 'b1')
    store.complete(slice, b1!, { result: 'B1' }, ZERO)
    store.complete(slice, d!, { result: '' }, ZERO)
    // At most `limit`, in plan order (children after the plan's units).
    expect(store.resultsNotIn(seen, 1)).toStrictEqual([{ id: d!.id, result: '' }])
    expect(store.resultsNotIn(seen)).toStrictEqual([
      { id: d!.id, result: '' },
      { id: b1!.id, result: 'B1' },
    ])
    expect(store.resultsNotIn([...seen, d!.id, b1!.id])).toStrictEqual([])
  })
})

describe('JobStore slices and the end of a job', () => {
  beforeEach(() => store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a', 'b'), T0, { requests: 1, attempts: 2, retries: 1, inFlightPeak: 1 }))

  it('numbers slices after the plan; endSlice stores the final counts and the end time', () => {
    expect(store.beginSlice('run', 20, T0 + 1)).toBe(2)
    store.endSlice(2, { requests: 4, attempts: 5, retries: 1, inFlightPeak: 3 }, T0 + 9)
    expect(store.beginSlice('run', 7, T0 + 10)).toBe(3)
    expect(store.slices()).toStrictEqual([
      { n: 1, kind: 'plan', startedAt: T0, finishedAt: T0, budget: 0, requests: 1, attempts: 2, retries: 1, inFlightPeak: 1, units: 0 },
      { n: 2, kind: 'run', startedAt: T0 + 1, finishedAt: T0 + 9, budget: 20, requests: 4, attempts: 5, retries: 1, inFlightPeak: 3, units: 0 },
      { n: 3, kind: 'run', startedAt: T0 + 10, finishedAt: null, budget: 7, requests: 0, attempts: 0, retries: 0, inFlightPeak: 0, units: 0 },
    ])
    // spent: attempts (retries included) and retries of every slice, the plan's too.
    expect(store.spent()).toStrictEqual({ requests: 7, retries: 2 })
  })

  it('keeps the highest peak a slice saw', () => {
    const n = store.beginSlice('run', 20, T0)
    const [a] = store.pending()
    store.complete(n, a!, { result: '' }, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 4 })
    store.endSlice(n, { requests: 2, attempts: 2, retries: 0, inFlightPeak: 2 }, T0 + 1)
    expect(store.slices()[1]).toMatchObject({ inFlightPeak: 4, attempts: 2 })
  })

  it('setCounters stores stalls and errors', () => {
    store.setCounters(2, 1, T0 + 3)
    expect(store.job()).toMatchObject({ stalls: 2, errors: 1, updatedAt: T0 + 3, state: 'running' })
  })

  it("finish('done') ends the job, its counters reset", () => {
    store.setCounters(2, 1, T0 + 3)
    store.finish('done', T0 + 4)
    expect(store.job()).toStrictEqual({ name: 'j', role: 'whole', params: '{}', state: 'done', shards: 1, client: false, overLimit: false, stalls: 0, errors: 0, createdAt: T0, updatedAt: T0 + 4, finishedAt: T0 + 4 })
  })

  it("finish('failed') keeps the problem and its headers, and whether the bound ended it", () => {
    const p = problem('upstream_rate_limited', 'slow down', { retry_after: 9 })
    store.finish('failed', T0 + 4, { problem: p, headers: { 'retry-after': '9' } }, true)
    expect(store.job()).toMatchObject({ state: 'failed', problem: p, headers: { 'retry-after': '9' }, overLimit: true, finishedAt: T0 + 4 })
  })

  it('keeps no headers when they are empty, and overLimit false unless said', () => {
    store.finish('failed', T0 + 4, { problem: problem('not_found', 'gone'), headers: {} })
    const job = store.job()!
    expect(job.headers).toBeUndefined()
    expect('headers' in job).toBe(false)
    expect(job.overLimit).toBe(false)
    expect(job.problem?.code).toBe('not_found')
  })
})

describe('JobStore transactions', () => {
  it('a unit outcome that fails half way leaves nothing of it behind', () => {
    store.start({ name: 'j', role: 'whole', params: '{}' }, unitRows('a'), T0)
    const slice = store.beginSlice('run', 8, T0)
    const [a] = store.pending()
    const exec = storage.sql.exec.bind(storage.sql)
    storage.sql.exec = ((q: string, ...b: never[]) => {
      if (q.startsWith('UPDATE units')) throw new Error('disk full')
      return exec(q, ...b)
    }) as typeof storage.sql.exec
    expect(() => store.complete(slice, a!, { children: [['a1', '"a1"']] }, { requests: 1, attempts: 1, retries: 0, inFlightPeak: 1 })).toThrow('disk full')
    storage.sql.exec = exec
    expect(store.counts()).toStrictEqual({ pending: 1, done: 0, split: 0, failed: 0 })
    expect(store.slices()[0]).toMatchObject({ attempts: 0, units: 0 })
  })
})
