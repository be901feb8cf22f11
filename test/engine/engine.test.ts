/**
 * The job engine on a made-up task (image sizes of a sequence, src/index.ts) inside workerd, with
 * real SQLite Durable Objects and the Graph API stand-in over HTTP. Expected answers come from the
 * stand-in itself (a direct read of every image), never from the engine. Tests in one file run one
 * after another; the stand-in's stats are global, so each test measures a delta.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenHash } from '../stand-in/src/stats'
import type { JobAnswer, JobProgress, RunOptions } from '../../shared/engine/job-runner'
import type { SizesJob, SizesParams } from './src/index'

const UP = env.MAPILLARY_GRAPH_URL
const BUDGET = Number(env.SUBREQUEST_BUDGET)

async function control<T = any>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${UP}/__sandbox/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  if (!res.ok) throw new Error(`stand-in ${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<T>
}
const stats = () => control<{ requests: number; byRoute: Record<string, number>; maxInFlight: number; tokensSeen: string[] }>('stats')
const quiet = () => control('config', { rate429: 0, rate500: 0, rateDrop: 0, latencyMs: 0, jitterMs: 0, script: [], rejectTokens: [] })

interface Sequence {
  id: string
  length: number
  label: string
}
let seqs: Sequence[]
const seqOf = (n: number) => seqs.find((s) => s.length === n)!

/** The stand-in's own answer: each image's width and height, read one by one with the server token. */
async function truth(sequenceId: string): Promise<Array<{ id: string; width: number; height: number }>> {
  const auth = { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` }
  const ids = ((await (await fetch(`${UP}/image_ids?sequence_id=${sequenceId}`, { headers: auth })).json()) as { data: { id: string }[] }).data.map((d) => d.id)
  return Promise.all(ids.map(async (id) => (await (await fetch(`${UP}/${id}?fields=width,height`, { headers: auth })).json()) as { id: string; width: number; height: number }))
}

let n = 0
/** A fresh job object per test (objects persist across the tests of a file). */
function job(params: SizesParams, name = `sizes:${params.sequence_id}|${params.split ? 'split' : 'flat'}|${++n}`) {
  // A fresh stub for every call: one that saw its object torn down stays broken.
  const stub = () => env.SIZES_JOB.getByName(name)
  // RPC's types cannot follow a Problem's open members: the shape is JobAnswer.
  const run = (name: string, p: SizesParams, token?: string, opts?: RunOptions) => stub().run(name, p, token, opts) as unknown as Promise<JobAnswer>
  const progress = () => stub().progress() as Promise<JobProgress>
  return { name, params, get stub() { return stub() }, run, progress }
}

function body(a: JobAnswer): any {
  if (!a.ok) throw new Error(`job failed: ${JSON.stringify(a.problem)}`)
  return JSON.parse(a.body)
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('waitFor: timed out')
    await new Promise((r) => setTimeout(r, 25))
  }
}

beforeAll(async () => {
  await quiet()
  seqs = (await control<{ sequences: Sequence[] }>('truth/world')).sequences
})
afterEach(quiet)

describe('job engine', () => {
  it('answers every unit in plan order, each slice within the budget and 6 connections', async () => {
    const s = seqOf(50)
    const expected = await truth(s.id)
    const j = job({ sequence_id: s.id, split: false })
    const before = await stats()
    const out = body(await j.run(j.name, j.params))
    const after = await stats()
    expect(out).toEqual({ sequence_id: s.id, sizes: expected })
    // 50 images over budget-8 slices in 3 parts of 16–17 units, plus the plan: 51 requests, not one more.
    expect(after.requests - before.requests).toBe(51)
    const progress = await j.progress()
    expect(progress).toMatchObject({ state: 'done', role: 'coordinator', shards: 3, done: 50, total: 50, pending: 0, failed: 0, requests: 51, retries: 0 })
    for (const slice of progress.slices) {
      expect(slice.attempts).toBeLessThanOrEqual(BUDGET)
      expect(slice.inFlightPeak).toBeLessThanOrEqual(6)
    }
    expect(progress.slices.filter((sl) => sl.kind === 'run').length).toBeGreaterThanOrEqual(Math.ceil(50 / BUDGET))
  })

  it('runs the children a unit adds in its place, and answers them like planned units', async () => {
    const s = seqOf(50)
    const expected = await truth(s.id)
    const j = job({ sequence_id: s.id, split: true })
    const before = await stats()
    const out = body(await j.run(j.name, j.params))
    const after = await stats()
    expect(out.sizes).toEqual(expected)
    // Splits cost nothing upstream: the plan and one read per image.
    expect(after.requests - before.requests).toBe(51)
    const p = await j.progress()
    // One planned unit, split down to 50 leaves: 49 splits and 50 leaves, all finished.
    expect(p).toMatchObject({ role: 'whole', done: 99, total: 99, pending: 0 })
  })

  it('lets 10 identical questions share one run', async () => {
    const s = seqOf(50)
    const j = job({ sequence_id: s.id, split: false })
    const before = await stats()
    const answers = await Promise.all(Array.from({ length: 10 }, () => j.run(j.name, j.params)))
    const after = await stats()
    const expected = await truth(s.id)
    for (const a of answers) expect(body(a).sizes).toEqual(expected)
    expect(after.byRoute.image_ids! - before.byRoute.image_ids!).toBe(1)
    expect(after.requests - before.requests).toBe(51)
  })

  it('keeps a rejected client token to its own run: the server-token question next to it answers whole', async () => {
    const s = seqOf(50)
    const bad = 'MLY|666|rejectedrejectedrejectedrejected'
    await control('config', { rejectTokens: [tokenHash(bad)] })
    // The adapter names jobs by identity: two names, two objects, two runs.
    const mine = job({ sequence_id: s.id, split: false }, `sizes:${s.id}|server`)
    const theirs = job({ sequence_id: s.id, split: false }, `sizes:${s.id}|client:0123`)
    const [good, refused] = await Promise.all([mine.run(mine.name, mine.params), theirs.run(theirs.name, theirs.params, bad)])
    expect(body(good).sizes).toEqual(await truth(s.id))
    expect(refused).toMatchObject({ ok: false, problem: { status: 401, code: 'invalid_token' } })
    expect((await theirs.progress()).state).toBe('empty')
  })

  it('answers whole and exact through 429s, 500s and dropped connections', async () => {
    const s = seqOf(50)
    await control('config', { rate429: 0.08, rate500: 0.05, rateDrop: 0.03, retryAfterSeconds: 1, seed: 7 })
    const j = job({ sequence_id: s.id, split: false })
    const out = body(await j.run(j.name, j.params))
    await quiet()
    expect(out.sizes).toEqual(await truth(s.id))
    const p = await j.progress()
    expect(p.retries).toBeGreaterThan(0)
    for (const slice of p.slices) expect(slice.attempts).toBeLessThanOrEqual(BUDGET)
  })

  it('fails with the problem, never a partial answer, when a unit keeps failing; a later call resumes', async () => {
    const s = seqOf(50)
    await control('config', { rate500: 1, routes: ['entity'] })
    const j = job({ sequence_id: s.id, split: false })
    const failed = await j.run(j.name, j.params)
    expect(failed.ok).toBe(false)
    if (failed.ok) return
    expect([502, 503]).toContain(failed.problem.status)
    expect(JSON.stringify(failed)).not.toContain('"sizes"')
    const p = await j.progress()
    expect(p.state).toBe('failed')
    await quiet()
    const expected = await truth(s.id)
    const before = await stats()
    const again = body(await j.run(j.name, j.params))
    expect(again.sizes).toEqual(expected)
    // Resumed: the plan is kept, only images not yet read are read.
    expect((await stats()).byRoute.image_ids! - before.byRoute.image_ids!).toBe(0)
  })

  it('resumes after eviction mid-work, redoing at most one slice', async () => {
    const s = seqOf(50)
    const expected = await truth(s.id)
    await control('config', { latencyMs: 200 })
    const j = job({ sequence_id: s.id, split: true })
    const before = await stats()
    const running = j.run(j.name, j.params).catch(() => null)
    // Splits cost nothing: wait for reads, well before the 50 are done, then tear every object down.
    await waitFor(async () => (await j.progress()).requests >= 12)
    await abortAllDurableObjects()
    await running
    expect((await j.progress()).state).toBe('running')
    await quiet()
    const out = body(await j.run(j.name, j.params))
    const made = (await stats()).byRoute.entity! - before.byRoute.entity!
    expect(made).toBeGreaterThanOrEqual(50)
    expect(made).toBeLessThanOrEqual(50 + BUDGET)
    expect(out.sizes).toEqual(expected)
  })

  it('refuses a job whose plan needs more requests than its bound before any unit runs; stops a split past it; goes on under a larger bound', async () => {
    const s = seqOf(50)
    const flat = job({ sequence_id: s.id, split: false })
    const before = await stats()
    const refused = await flat.run(flat.name, flat.params, undefined, { maxRequests: 40 })
    expect(refused).toMatchObject({ ok: false, problem: { status: 400, limit: 40 } })
    // Only the plan's own request, and nothing kept.
    expect((await stats()).requests - before.requests).toBe(1)
    expect((await flat.progress()).state).toBe('empty')

    const expected = await truth(s.id)
    const split = job({ sequence_id: s.id, split: true })
    const mid = await stats()
    const stopped = await split.run(split.name, split.params, undefined, { maxRequests: 30 })
    expect(stopped).toMatchObject({ ok: false, problem: { status: 400, limit: 30 } })
    const spent = (await stats()).requests - mid.requests
    expect(spent).toBeLessThanOrEqual(30)
    // Asked again with the same bound: no request past it.
    await split.run(split.name, split.params, undefined, { maxRequests: 30 })
    expect((await stats()).requests - mid.requests).toBeLessThanOrEqual(30)
    // A larger bound goes on from where it stopped: 51 requests in all, not 51 more.
    const whole = body(await split.run(split.name, split.params, undefined, { maxRequests: 100 }))
    expect(whole.sizes).toEqual(expected)
    expect((await stats()).requests - mid.requests).toBe(51)
  })

  it('never goes on with the server token after losing a client token: it fails, and the client resumes it', async () => {
    const s = seqOf(50)
    const token = 'MLY|777|clientclientclientclientclient'
    const expected = await truth(s.id)
    await control('config', { latencyMs: 200 })
    const j = job({ sequence_id: s.id, split: true })
    const running = j.run(j.name, j.params, token).catch(() => null)
    // Splits cost nothing: wait for reads, well before the 50 are done.
    await waitFor(async () => (await j.progress()).requests >= 6)
    await abortAllDurableObjects()
    await running
    const before = await stats()
    // The watchdog alarm runs without the token: the job fails, no request with any other token.
    await runInDurableObject(j.stub, (_o: SizesJob, state) => state.storage.setAlarm(Date.now() + 3_600_000))
    await runDurableObjectAlarm(j.stub)
    expect((await j.progress()).state).toBe('failed')
    const after = await stats()
    expect(after.requests).toBe(before.requests)
    await quiet()
    const resumed = body(await j.run(j.name, j.params, token))
    expect(resumed.sizes).toEqual(expected)
    expect((await stats()).tokensSeen).toContain(tokenHash(token))
  })

  it('forgets a finished job after its retention, and answers a question past its result TTL afresh', async () => {
    const s = seqOf(3)
    const expected = await truth(s.id)
    const j = job({ sequence_id: s.id, split: false })
    body(await j.run(j.name, j.params))
    const before = await stats()
    body(await j.run(j.name, j.params))
    expect((await stats()).requests).toBe(before.requests)
    // Age the result past its TTL (60 s here): the next call runs the job again.
    await runInDurableObject(j.stub, (_o: SizesJob, state) => state.storage.sql.exec('UPDATE job SET finished_at = ?', Date.now() - 61_000))
    expect(body(await j.run(j.name, j.params)).sizes).toEqual(expected)
    expect((await stats()).requests - before.requests).toBe(4)
    // Past the retention (120 s), the alarm empties every table.
    await runInDurableObject(j.stub, (_o: SizesJob, state) => state.storage.sql.exec('UPDATE job SET finished_at = ?', Date.now() - 121_000))
    // Far enough that it cannot fire by itself before the test runs it.
    await runInDurableObject(j.stub, (_o: SizesJob, state) => state.storage.setAlarm(Date.now() + 3_600_000))
    expect(await runDurableObjectAlarm(j.stub)).toBe(true)
    const rows = await runInDurableObject(j.stub, (_o: SizesJob, state) => ['job', 'units', 'slices'].map((t) => Number(state.storage.sql.exec(`SELECT count(*) AS n FROM ${t}`).one().n)))
    expect(rows).toEqual([0, 0, 0])
  })

  it('answers an unknown sequence as not found and stores nothing', async () => {
    const j = job({ sequence_id: 'NoSuchSequenceAtAll0', split: false })
    const out = await j.run(j.name, j.params)
    expect(out).toMatchObject({ ok: false, problem: { status: 404, code: 'not_found' } })
    expect((await j.progress()).state).toBe('empty')
  })
})
