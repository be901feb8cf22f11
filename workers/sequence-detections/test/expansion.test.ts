/**
 * A sequence's detections through field expansion (issue 12), inside workerd against the stand-in:
 * the answer is byte-for-byte the one computed here from the stand-in's per-image routes, whatever
 * the upstream does with `detections.<field>` (expand, ids only, refuse), however its edges are
 * paged, whatever its batch maximum, with or without pixels, for the default fields and all five;
 * and the request counts of the 1,250-image sequence.
 *
 * Each question is asked of its sweep object directly (no KV answer in the way). Before each, the
 * upstream traits are forgotten and the question's objects emptied, so each combination starts from
 * "nothing known" and is planned afresh.
 * Stand-in config and counts are global: every test of this file runs in order, reset after each.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { partName } from '../../../shared/engine/job-runner'
import { forgetTraits, readTraits, rememberTraits } from '../../../shared/upstream/traits'
import { normalizeParams, sweepName } from '../src/params'
import type { SequenceSweep } from '../src/sequence-sweep'
import { expectedSequenceBody } from '../../../test/support/sequence-oracle'
import { delta, standIn, sweepStub, type WorldSequence } from './support'

const DEFAULT_FIELDS = ['id', 'value', 'geometry']
const ALL_FIELDS = ['id', 'value', 'geometry', 'created_at', 'image']

let s250: WorldSequence
let s1250: WorldSequence

beforeAll(async () => {
  await standIn.reset()
  const all = await standIn.sequences()
  s250 = all.find((s) => s.length === 250)!
  s1250 = all.find((s) => s.length === 1250)!
  expect(s250 && s1250, 'the stand-in world has its 250- and 1,250-image sequences').toBeTruthy()
})

afterEach(async () => {
  await standIn.reset()
})

/**
 * A fresh start for a question: the upstream's traits forgotten (memory and KV) and the question's
 * sweep object, and any part of it, emptied; kept image sizes (a month) stay.
 */
async function forget(sequenceId: string, fields: string[], pixels: boolean) {
  await forgetTraits(env.CACHE, env.MAPILLARY_GRAPH_URL)
  const name = sweepName(normalizeParams({ sequence_id: sequenceId, fields, pixels }))
  const names = [name, ...[2, 3, 4].flatMap((of) => Array.from({ length: of }, (_, k) => partName(name, k, of)))]
  for (const n of names) await runInDurableObject(env.SEQUENCE_SWEEP.getByName(n), (o: SequenceSweep) => o.runner.store.clear())
}

const expectedCache = new Map<string, string>()

/**
 * The public body for a sequence, computed from the stand-in's own per-image routes (each image's
 * `/{id}/detections`, and its `/{id}?fields=width,height` for pixels): keys `id`, then the asked
 * fields in alphabetical order (the API's normal form), and `pixel_geometry` from the shared decoder.
 */
async function expectedBody(sequenceId: string, fields: string[], pixels: boolean): Promise<string> {
  const cacheKey = `${sequenceId}|${fields.join(',')}|${pixels}`
  const kept = expectedCache.get(cacheKey)
  if (kept) return kept
  const body = await expectedSequenceBody((path) => standIn.get(path), sequenceId, fields, pixels)
  expectedCache.set(cacheKey, body)
  return body
}

/** Asks the question's sweep object; answers its body and the stand-in's request counts meanwhile. */
async function ask(sequenceId: string, fields: string[], pixels: boolean) {
  const before = await standIn.stats()
  const answer = await sweepStub(sequenceId, fields, pixels).run(normalizeParams({ sequence_id: sequenceId, fields, pixels }))
  const after = await standIn.stats()
  expect(answer.ok, JSON.stringify(answer).slice(0, 400)).toBe(true)
  const statuses: Record<string, number> = {}
  for (const [k, v] of Object.entries(after.statuses)) statuses[k] = v - (before.statuses[k] ?? 0)
  return { body: answer.ok ? answer.body : '', requests: answer.requests, d: delta(before, after), statuses }
}

type Expansion = 'expand' | 'ids' | 'refuse'

describe('the same answer, byte for byte, in every combination (250 images, BATCH_IDS 100)', () => {
  const combos = (expansion: Expansion) =>
    [25, 2].flatMap((edgePageLimit) => [200, 30].flatMap((maxBatchIds) => [false, true].flatMap((pixels) => [DEFAULT_FIELDS, ALL_FIELDS].map((fields) => ({ expansion, edgePageLimit, maxBatchIds, pixels, fields })))))

  it.each<Expansion>(['expand', 'ids', 'refuse'])('detectionsExpansion %s × edge page limit {25, 2} × batch maximum {200, 30} × pixels × fields', async (expansion) => {
    for (const c of combos(expansion)) {
      const label = JSON.stringify(c)
      const expected = await expectedBody(s250.id, c.fields, c.pixels)
      await forget(s250.id, c.fields, c.pixels)
      await standIn.reset()
      await standIn.config({ detectionsExpansion: c.expansion, edgePageLimit: c.edgePageLimit, maxBatchIds: c.maxBatchIds })
      const { body, d, requests, statuses } = await ask(s250.id, c.fields, c.pixels)
      expect(body === expected, `${label}: the answer differs from the per-image one`).toBe(true)
      expect(requests, label).toBe(d.total)
      // The way each combination took.
      if (c.expansion === 'expand') {
        expect(d.images, label).toBeGreaterThanOrEqual(3)
        if (c.edgePageLimit === 25) expect(d.detections, `${label}: no image needed its own request`).toBe(0)
        else expect(d.detections, `${label}: images with more than 2 detections were completed on their own`).toBeGreaterThan(50)
        if (c.maxBatchIds === 30) expect(statuses['400'] ?? 0, `${label}: batches refused and halved`).toBeGreaterThan(0)
      } else {
        // One probe (halved when too large), then every image on its own (sizes in batches for pixels).
        if (!c.pixels) expect(d.images, label).toBe(c.maxBatchIds === 30 ? 3 : 1)
        expect(d.detections, label).toBe(new Set(JSON.parse(expected).image_ids).size)
      }
    }
  }, 600_000)
})

describe('what is remembered of the upstream', () => {
  it('a remembered behaviour that changed never gives a wrong answer, and is remembered anew; a batch maximum learned is remembered', async () => {
    const cases: Array<{ remembered: 'expanded' | 'ids-only'; now: Expansion; learned: 'expanded' | 'ids-only' | 'refused' }> = [
      { remembered: 'expanded', now: 'refuse', learned: 'refused' },
      { remembered: 'expanded', now: 'ids', learned: 'ids-only' },
      // Known as ids only: never probed again within the hour, so per image, still exact.
      { remembered: 'ids-only', now: 'expand', learned: 'ids-only' },
    ]
    for (const c of cases) {
      for (const pixels of [false, true]) {
        const label = `${JSON.stringify(c)} pixels=${pixels}`
        const expected = await expectedBody(s250.id, DEFAULT_FIELDS, pixels)
        await forget(s250.id, DEFAULT_FIELDS, pixels)
        await rememberTraits(env.CACHE, env.MAPILLARY_GRAPH_URL, { detectionsExpansion: c.remembered })
        await standIn.config({ detectionsExpansion: c.now })
        const { body, d } = await ask(s250.id, DEFAULT_FIELDS, pixels)
        expect(body === expected, `${label}: the answer differs from the per-image one`).toBe(true)
        expect((await readTraits(env.CACHE, env.MAPILLARY_GRAPH_URL)).detectionsExpansion, label).toBe(c.learned)
        if (c.remembered === 'expanded') expect(d.images, `${label}: the batches were tried`).toBeGreaterThanOrEqual(3)
        else expect(d.images ?? 0, `${label}: no batch of detections, no probe`).toBeLessThanOrEqual(pixels ? 3 : 0)
        await standIn.reset()
      }
    }

    await forget(s250.id, ALL_FIELDS, false)
    await standIn.config({ detectionsExpansion: 'expand', maxBatchIds: 30 })
    const { body } = await ask(s250.id, ALL_FIELDS, false)
    expect(body === (await expectedBody(s250.id, ALL_FIELDS, false))).toBe(true)
    // Probed at 100, 50, then 25: the largest size seen to pass.
    expect(await readTraits(env.CACHE, env.MAPILLARY_GRAPH_URL)).toEqual({ detectionsExpansion: 'expanded', batchMax: 25 })
  }, 300_000)
})

describe('request counts of the 1,250-image sequence', () => {
  it('≤ 20 requests when the upstream expands (with pixels too)', async () => {
    for (const pixels of [false, true]) {
      const expected = await expectedBody(s1250.id, DEFAULT_FIELDS, pixels)
      await forget(s1250.id, DEFAULT_FIELDS, pixels)
      await standIn.config({ detectionsExpansion: 'expand' })
      const { body, d } = await ask(s1250.id, DEFAULT_FIELDS, pixels)
      console.info(`1250 images, expanded, pixels=${pixels}: ${d.total} upstream requests (${JSON.stringify(d)})`)
      expect(body === expected, 'the answer is the per-image one').toBe(true)
      expect(d.total).toBeLessThanOrEqual(20)
      expect(d.image_ids).toBe(1)
      expect(d.detections).toBe(0)
      expect(d.entity).toBe(0)
    }
  }, 300_000)

  it('ids only: ≤ 1% above the 1,251 of one request per image; the next question makes no probe; with pixels no more than the 2,501 of before', async () => {
    const expected = await expectedBody(s1250.id, DEFAULT_FIELDS, false)
    for (const [fields, pixels] of [[DEFAULT_FIELDS, false], [['id', 'value'], false], [DEFAULT_FIELDS, true]] as const) await forget(s1250.id, [...fields], pixels)
    const first = await ask(s1250.id, DEFAULT_FIELDS, false)
    console.info(`1250 images, ids only, first question: ${first.d.total} upstream requests (${JSON.stringify(first.d)})`)
    expect(first.body === expected, 'the answer is the per-image one').toBe(true)
    expect(first.d.images).toBe(1)
    expect(first.d.total).toBeLessThanOrEqual(Math.floor(1251 * 1.01))

    // Another question within the hour: the remembered trait, no probe.
    const second = await ask(s1250.id, ['id', 'value'], false)
    expect(second.body === (await expectedBody(s1250.id, ['id', 'value'], false)), 'the answer is the per-image one').toBe(true)
    expect(second.d.images).toBe(0)
    expect(second.d.total).toBe(1251)

    const withPixels = await ask(s1250.id, DEFAULT_FIELDS, true)
    console.info(`1250 images, ids only, pixels: ${withPixels.d.total} upstream requests (${JSON.stringify(withPixels.d)})`)
    expect(withPixels.body === (await expectedBody(s1250.id, DEFAULT_FIELDS, true)), 'the answer is the per-image one').toBe(true)
    expect(withPixels.d.total).toBeLessThanOrEqual(2501)
    expect(withPixels.d.detections).toBe(1250)
  }, 300_000)
})
