/**
 * Hostile client (a hung upstream): every forwarded request answers within REQUEST_DEADLINE_SECONDS;
 * past it a 503 problem with Retry-After, and for a fan-out the job that goes on with the question.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { ended } from './support/jobs'
import { expectProblem } from './support/problem'
import { useSystem, type System } from './support/system'

const t = useSystem()
const DEADLINE_SECONDS = 2
const LATENCY_MS = 8000

/** Sets vars on the gateway (startSystem gives vars to the task Workers only) and reloads it. */
async function gatewayVars(sys: System, vars: Record<string, string>): Promise<void> {
  await sys.gateway.update((o) => ({
    ...o,
    workers: o.workers!.map((w) => ('configPath' in w && String(w.configPath) === 'wrangler.toml' ? { ...w, vars: { ...w.vars, ...vars } } : w)),
  }))
}

beforeAll(() => gatewayVars(t.sys, { REQUEST_DEADLINE_SECONDS: String(DEADLINE_SECONDS) }))

describe('the request deadline', () => {
  it('answers a fan-out past the deadline with 503, Retry-After and the job that then gives the answer', async () => {
    const seq = t.world.sequences.find((s: any) => s.length === 3)
    const path = `/v1/sequences/${seq.id}/detections?fields=id,value`
    await t.sys.sandboxControl.config({ latencyMs: LATENCY_MS })
    const t0 = Date.now()
    const late = await t.sys.json(path)
    const waited = Date.now() - t0
    expectProblem(late, 503, 'deadline_exceeded')
    // Answered at the deadline, long before the upstream's first answer.
    expect(waited).toBeGreaterThanOrEqual(DEADLINE_SECONDS * 1000)
    expect(waited).toBeLessThan(LATENCY_MS)
    expect(late.headers.get('retry-after')).toBe('10')
    expect(late.body.deadline_seconds).toBe(DEADLINE_SECONDS)
    expect(late.body.job).toMatch(/^[0-9a-f]{32}$/)
    expect(late.body.status_url).toBe(new URL(`/v1/jobs/${late.body.job}`, t.sys.url).href)
    expect(late.headers.get('location')).toBe(late.body.status_url)
    expect(late.body.detail).toContain(late.body.job)
    expect(late.body.request_id).toBe(late.headers.get('x-request-id'))

    await t.sys.sandboxControl.config({ latencyMs: 0 })
    const status = await ended(t.sys, late.body.job)
    expect(status.state).toBe('done')
    const result = await t.sys.fetch(`/v1/jobs/${late.body.job}/result`)
    const direct = await t.sys.fetch(path)
    expect(direct.status).toBe(200)
    const body = await direct.text()
    expect(await result.text()).toBe(body)
    expect(Object.keys(JSON.parse(body)).length).toBe(3)
  })

  it('answers a request no job can take with 503 and Retry-After, naming no job', async () => {
    await t.sys.sandboxControl.config({ latencyMs: LATENCY_MS })
    const late = await t.sys.json(`/v1/images/${t.world.sampleImages.ordinary}/detections`)
    await t.sys.sandboxControl.config({ latencyMs: 0 })
    expectProblem(late, 503, 'deadline_exceeded')
    expect(late.headers.get('retry-after')).toBe('10')
    expect(late.body.job).toBeUndefined()
    expect(late.headers.get('location')).toBeNull()
  })
})
