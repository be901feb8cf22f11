/**
 * Stale-if-error for a sequence's detections (issue 9): the answer holds no URL, so while the
 * upstream fails (the stand-in's rate500) the copy kept a week past its day answers, `X-Cache:
 * stale` with its `Age`. The clock is moved past the day with vi's fake Date (the Worker and its
 * objects run in this isolate) and KV made what it would be then (entries expired by that time
 * dropped: local KV expires on its own clock).
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, expect, it, vi } from 'vitest'
import { standIn } from './support'
import { later } from '../../../test/support/later'

afterEach(async () => {
  vi.useRealTimers()
  await standIn.reset()
})

it('answers the kept copy, stale with its age, a day and more later while the upstream fails; a question never answered gets the upstream’s problem', async () => {
  const id = (await standIn.sequences()).find((s) => s.length === 3)!.id
  const path = `https://seq.test/v1/sequences/${id}/detections?fields=id,value`
  const first = await exports.default.fetch(path)
  expect(first.status).toBe(200)
  const text = await first.text()
  expect(JSON.parse(text).image_ids).toHaveLength(3)

  await standIn.config({ rate500: 1 })
  await later(env.CACHE, 86400 + 60)
  const res = await exports.default.fetch(path)
  const body = await res.text()
  expect(res.status, body.slice(0, 300)).toBe(200)
  expect(res.headers.get('x-cache')).toBe('stale')
  expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(86400 + 60)
  expect(Number(res.headers.get('age'))).toBeLessThan(86400 + 600)
  expect(body).toBe(text)

  // Another question, never answered, has nothing kept: the upstream's problem.
  const other = await exports.default.fetch(`https://seq.test/v1/sequences/${id}/detections?fields=id`)
  expect([502, 503]).toContain(other.status)
})
