/**
 * A 1,250-image sequence through field expansion, end to end with the deployed settings (BATCH_IDS
 * 100, a budget of 45 a slice, 4 parts): its cost while the upstream expands `detections.<field>`,
 * when it then stops (remembered as expanding, the batches come back bare: each image on its own,
 * and the behaviour remembered anew), and with pixels while it answers ids only. Every answer is
 * the one computed here from the stand-in's per-image routes. The tests follow each other: each
 * starts where the product's memory of the upstream was left by the one before.
 */
import { describe, expect, it } from 'vitest'
import { SERVER_TOKEN, useSystem, type SandboxStats } from './support/system'
import { ended, submitted } from './support/jobs'
import { expectedSequenceBody } from './support/sequence-oracle'

const t = useSystem()

const upstream = async <T>(path: string): Promise<T> => {
  const res = await fetch(new URL(path, t.sys.upstream), { headers: { authorization: `OAuth ${SERVER_TOKEN}` } })
  if (!res.ok) throw new Error(`stand-in ${path}: HTTP ${res.status}`)
  return (await res.json()) as T
}
const seq1250 = () => t.world.sequences.find((s: { length: number }) => s.length === 1250) as { id: string }

/** The public body from the stand-in's own per-image routes (test/support/sequence-oracle.ts). */
const expectedBody = (sequenceId: string, fields: string[], pixels: boolean) => expectedSequenceBody(upstream, sequenceId, fields, pixels)

/** The public route's answer and what it cost at the stand-in. */
async function ask(path: string) {
  const before: SandboxStats = await t.sys.sandboxControl.stats()
  const res = await t.sys.fetch(path)
  const body = await res.text()
  const after: SandboxStats = await t.sys.sandboxControl.stats()
  const d: Record<string, number> = { total: after.requests - before.requests }
  for (const [k, v] of Object.entries(after.byRoute)) d[k] = v - (before.byRoute[k] ?? 0)
  expect(res.status, body.slice(0, 300)).toBe(200)
  expect(Number(res.headers.get('x-upstream-requests'))).toBe(d.total)
  return { body, d }
}

/**
 * The same question as a job (the same task; no gateway deadline: on this shared machine 1,250
 * images one by one may outlast its 25 s) and what it cost at the stand-in.
 */
async function askJob(params: Record<string, unknown>) {
  const before: SandboxStats = await t.sys.sandboxControl.stats()
  const id = await submitted(t.sys, 'sequence-detections', params)
  expect((await ended(t.sys, id, 240_000)).state).toBe('done')
  const res = await t.sys.fetch(`/v1/jobs/${id}/result`)
  const body = await res.text()
  const after: SandboxStats = await t.sys.sandboxControl.stats()
  expect(res.status).toBe(200)
  const d: Record<string, number> = { total: after.requests - before.requests }
  for (const [k, v] of Object.entries(after.byRoute)) d[k] = v - (before.byRoute[k] ?? 0)
  return { body, d }
}

describe('a 1,250-image sequence through field expansion, deployed settings', () => {
  it('costs ≤ 20 requests while the upstream expands', async () => {
    const s = seq1250()
    await t.sys.sandboxControl.config({ detectionsExpansion: 'expand' })
    const { body, d } = await ask(`/v1/sequences/${s.id}/detections`)
    console.info(`expanded: ${d.total} upstream requests (${JSON.stringify(d)})`)
    expect(d.total).toBeLessThanOrEqual(20)
    expect(d.detections).toBe(0)
    expect(body === (await expectedBody(s.id, ['id', 'value', 'geometry'], false)), 'the per-image answer').toBe(true)
  })

  it('when the upstream stops expanding, answers image by image at once, and the next question makes no probe', { timeout: 600_000 }, async () => {
    const s = seq1250()
    await t.sys.sandboxControl.config({ detectionsExpansion: 'ids' })
    // Remembered as expanding: the batches come back with bare ids, each image is then asked alone.
    const changed = await askJob({ sequence_id: s.id, fields: 'id,value' })
    console.info(`expansion stopped: ${changed.d.total} upstream requests (${JSON.stringify(changed.d)})`)
    expect(changed.body === (await expectedBody(s.id, ['id', 'value'], false)), 'the per-image answer').toBe(true)
    // Images whose bare list is empty are answered by it ([] either way); the others alone.
    expect(changed.d.detections).toBeGreaterThan(1000)
    expect(changed.d.detections).toBeLessThanOrEqual(1250)
    expect(changed.d.total).toBeLessThanOrEqual(1251 + 13)

    // Now remembered as ids only: one request per image, no probe.
    const next = await askJob({ sequence_id: s.id, fields: 'id,created_at' })
    expect(next.body === (await expectedBody(s.id, ['id', 'created_at'], false)), 'the per-image answer').toBe(true)
    expect(next.d.images).toBe(0)
    expect(next.d.total).toBe(1251)
  })

  it('with pixels while the upstream answers ids only: the sizes in batches, fewer requests than one size per image', async () => {
    const s = seq1250()
    const { body, d } = await askJob({ sequence_id: s.id, pixels: true })
    console.info(`ids only, pixels: ${d.total} upstream requests (${JSON.stringify(d)})`)
    expect(body === (await expectedBody(s.id, ['id', 'value', 'geometry'], true)), 'the per-image answer').toBe(true)
    expect(d.detections).toBe(1250)
    // Before: 1 + 2 × 1250. Sizes now come in batches of at most BATCH_IDS, cut so the 4 parts still share the work.
    expect(d.total).toBeLessThanOrEqual(2501)
    expect(d.total).toBeLessThanOrEqual(1 + 1250 + Math.ceil(1250 / 20))
  }, 300_000)
})
