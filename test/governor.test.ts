/**
 * The upstream quota governor end to end: the gateway, the task Workers and the governor on
 * workerd, against the stand-in, with small rates so that a flood of distinct uncached requests
 * meets them. The stand-in records when each Graph request arrived (its `times`), the ground
 * truth for the rate the upstream saw; a code-4 storm (the stand-in answering the app limit for a
 * while) shows the service backing off and recovering.
 */
import { describe, expect, it } from 'vitest'
import { SERVER_TOKEN, useSystem } from './support/system'
import { expectProblem } from './support/problem'
import { maxInWindow } from './stand-in/src/stats'

// Small rates (the deployed ones are 40,000 and 8,000): entity 240 a minute is a bucket of 40 and
// then 200 per 70 s (2.86 a second), search 60 a bucket of 10 then 50 per 70 s.
const ENTITY_RATE = 240
const SEARCH_RATE = 60
const HOLD_MS = 10_000
const t = useSystem({ governorVars: { UPSTREAM_RATE_PER_MINUTE: String(ENTITY_RATE), UPSTREAM_SEARCH_RATE_PER_MINUTE: String(SEARCH_RATE) } })

/** Most permits the bucket can have granted in a span of `ms` (see shared/upstream/permit-bucket.ts). */
function mostIn(rate: number, ms: number): number {
  const size = Math.floor(rate / 6)
  return size + ((rate - size) / (60_000 + HOLD_MS)) * (ms + HOLD_MS)
}

async function upstream(path: string): Promise<any> {
  const res = await fetch(new URL(path, t.sys.upstream), { headers: { authorization: `OAuth ${SERVER_TOKEN}` } })
  expect(res.ok, path).toBe(true)
  return res.json()
}

/** Image ids of the stand-in's sequences, `count` of them, none asked before by this file. */
let nextImage = 0
let imageIds: string[] = []
async function freshImages(count: number): Promise<string[]> {
  if (imageIds.length === 0) {
    const seq = t.world.sequences.find((s: any) => s.length === 1250)
    imageIds = (await upstream(`/image_ids?sequence_id=${seq.id}`)).data.map((d: any) => d.id)
  }
  const out = imageIds.slice(nextImage, nextImage + count)
  nextImage += count
  expect(out).toHaveLength(count)
  return out
}

type Answer = { id: string; status: number; headers: Headers; body: any }

async function askImages(ids: string[]): Promise<Answer[]> {
  return Promise.all(ids.map(async (id) => ({ id, ...(await t.sys.json(`/v1/images/${id}/detections`)) })))
}

/** A 200 is the image's whole answer (every detection the upstream has); anything else an honest 503. */
async function expectCompleteOrBusy(answers: Answer[]): Promise<{ ok: Answer[]; busy: Answer[] }> {
  const ok = answers.filter((a) => a.status === 200)
  const busy = answers.filter((a) => a.status !== 200)
  for (const a of busy) {
    expectProblem(a, 503, 'upstream_rate_limited')
    const retryAfter = Number(a.headers.get('retry-after'))
    expect(retryAfter, JSON.stringify(a.body)).toBeGreaterThanOrEqual(1)
    expect(a.body.retry_after).toBe(retryAfter)
  }
  return { ok, busy }
}

async function expectWhole(ok: Answer[]) {
  for (const a of ok) {
    const direct = (await upstream(`/${a.id}/detections?fields=id,value,geometry`)).data
    expect(a.body.detections.map((d: any) => d.id).sort(), a.id).toEqual(direct.map((d: any) => d.id).sort())
  }
}

describe('the upstream quota governor', () => {
  it('keeps a flood of distinct uncached requests under the configured rate: answers whole, or 503 with Retry-After', async () => {
    // 300 upstream requests wanted: more than the rate allows in a whole minute
    const ids = await freshImages(150)
    await t.sys.sandboxControl.reset()
    const started = Date.now()
    const answers = await askImages(ids)
    const elapsed = Date.now() - started
    const stats = await t.sys.sandboxControl.stats()

    // never a 500: each answer whole or an honest 503 naming the wait
    const { ok, busy } = await expectCompleteOrBusy(answers)
    const entity = stats.times.entity.slice().sort((a, b) => a - b)
    console.log(`flood of ${ids.length} image questions (2 entity requests each) in ${elapsed} ms: ${ok.length} answered, ${busy.length} 503; upstream saw ${entity.length} entity requests, at most ${maxInWindow(entity, 60_000)} in a 60-s window (rate ${ENTITY_RATE})`)
    expect(ok.length).toBeGreaterThan(0)
    expect(busy.length).toBeGreaterThan(0) // 300 requests asked of a rate of 240 a minute whose bucket holds 40
    // what the upstream saw: never over the rate in any 60-s window, and no more than the bucket allows in this span
    expect(maxInWindow(entity, 60_000)).toBeLessThanOrEqual(ENTITY_RATE)
    expect(entity.length).toBeLessThanOrEqual(Math.floor(mostIn(ENTITY_RATE, elapsed)))
    expect(stats.statuses['500'] ?? 0).toBe(0)
    await expectWhole(ok)
  })

  it('keeps the search budget apart: boxes are paced at the search rate', async () => {
    await t.sys.sandboxControl.reset()
    const sparse = t.world.districts.find((d: any) => d.name.includes('sparse')).bbox as number[]
    // 30 distinct boxes (a nanodegree apart), each one search request when the governor allows it
    const boxes = Array.from({ length: 30 }, (_, i) => [sparse[0]! + i * 1e-9, sparse[1], sparse[2], sparse[3]].join(','))
    const started = Date.now()
    const answers = await Promise.all(boxes.map((bbox) => t.sys.json(`/v1/map-features?bbox=${bbox}`)))
    const elapsed = Date.now() - started
    const stats = await t.sys.sandboxControl.stats()
    const search = stats.times.search.slice().sort((a, b) => a - b)
    console.log(`30 boxes in ${elapsed} ms: ${answers.filter((a) => a.status === 200).length} answered; upstream saw ${search.length} search requests (rate ${SEARCH_RATE})`)
    for (const a of answers) {
      if (a.status === 200) expect(a.body.type).toBe('FeatureCollection')
      else {
        expectProblem(a, 503)
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      }
    }
    // permits are not wasted: at least the whole bucket (a sixth of the rate) reached the upstream
    expect(search.length).toBeGreaterThanOrEqual(Math.floor(SEARCH_RATE / 6))
    expect(search.length).toBeLessThanOrEqual(Math.floor(mostIn(SEARCH_RATE, elapsed)))
    expect(maxInWindow(search, 60_000)).toBeLessThanOrEqual(SEARCH_RATE)
  })

  it('backs off everyone in a code-4 storm (503 with Retry-After, never a 500), then recovers with whole answers', async () => {
    const ids = await freshImages(10)
    await t.sys.sandboxControl.reset()
    await t.sys.sandboxControl.config({ code4Storm: { seconds: 12 } })
    const during = await askImages(ids)
    const { busy } = await expectCompleteOrBusy(during)
    expect(busy).toHaveLength(ids.length)
    const retryAfter = Math.max(...busy.map((a) => Number(a.headers.get('retry-after'))))
    expect(retryAfter).toBeLessThanOrEqual(12 + 1)
    // at most the two requests of each question in flight when the storm began; none retried on its own
    const first = await t.sys.sandboxControl.stats()
    console.log(`storm: ${first.faults.code4_storm ?? 0} code-4 answers for ${ids.length} questions, Retry-After up to ${retryAfter} s`)
    expect(first.faults.code4_storm ?? 0).toBeGreaterThanOrEqual(1)
    expect(first.faults.code4_storm ?? 0).toBeLessThanOrEqual(2 * ids.length)
    // the pause holds everyone: new questions during it get 503 + Retry-After without reaching the upstream
    const late = await freshImages(10)
    const { busy: lateBusy } = await expectCompleteOrBusy(await askImages(late))
    expect(lateBusy).toHaveLength(late.length)
    const storm = await t.sys.sandboxControl.stats()
    expect(storm.requests).toBe(first.requests)
    expect(storm.statuses['500'] ?? 0).toBe(0)
    ids.push(...late)

    // every caller that waits as told gets its whole answer: nothing is lost
    const answered = new Map<string, Answer>()
    let pending = ids
    let wait = retryAfter
    const deadline = Date.now() + 90_000
    while (pending.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, wait * 1000))
      const { ok, busy: again } = await expectCompleteOrBusy(await askImages(pending))
      for (const a of ok) answered.set(a.id, a)
      pending = again.map((a) => a.id)
      wait = Math.max(1, ...again.map((a) => Number(a.headers.get('retry-after'))))
    }
    expect(pending).toEqual([])
    await expectWhole([...answered.values()])
    const after = await t.sys.sandboxControl.stats()
    expect(after.statuses['500'] ?? 0).toBe(0)
    expect(after.faults.code4_storm).toBe(storm.faults.code4_storm)
  })
})
