/**
 * A box over the synchronous request bound runs as a job under its own, larger bound
 * (MAX_JOB_BOX_REQUESTS), and the synchronous 422 says so. A system with small bounds: 3 requests
 * for a synchronous answer, 40 for a job (the dense district needs about 10).
 */
import { describe, expect, it } from 'vitest'
import { useSystem } from './support/system'
import { ended, submitted } from './support/jobs'

const SYNC_LIMIT = 3
const JOB_LIMIT = 40

describe('a box too costly to answer at once, as a job', () => {
  const t = useSystem({ vars: { MAX_BOX_REQUESTS: String(SYNC_LIMIT), MAX_JOB_BOX_REQUESTS: String(JOB_LIMIT) } })
  const dense = () => t.world.districts.find((d: any) => d.name.includes('dense'))

  it('is refused synchronously with a 422 naming both limits, then answered whole as a job within the larger one', async () => {
    const bbox = (dense().bbox as number[]).join(',')
    const truth = (await t.sys.sandboxControl.truthIds(bbox)).slice().sort()
    const refused = await t.sys.json(`/v1/map-features?bbox=${bbox}`)
    expect(refused.status).toBe(422)
    expect(refused.body).toMatchObject({ code: 'box_too_costly', limit: SYNC_LIMIT, job_limit: JOB_LIMIT })
    expect(refused.body.detail).toContain('POST /v1/jobs')

    const before = (await t.sys.sandboxControl.stats()).requests
    const id = await submitted(t.sys, 'map-features', { bbox })
    const status = await ended(t.sys, id)
    expect(status.state).toBe('done')
    const result = await t.sys.fetch(`/v1/jobs/${id}/result`)
    expect(result.status).toBe(200)
    const fc = (await result.json()) as { features: Array<{ id: string }> }
    expect(fc.features.map((f) => f.id).sort()).toEqual(truth)
    const made = (await t.sys.sandboxControl.stats()).requests - before
    expect(made).toBeGreaterThan(SYNC_LIMIT)
    expect(made).toBeLessThanOrEqual(JOB_LIMIT)

    // The job's answer is the question's: the synchronous request now gets it from KV, at no cost.
    const again = await t.sys.fetch(`/v1/map-features?bbox=${bbox}`)
    expect(again.status).toBe(200)
    expect(again.headers.get('x-cache')).toBe('hit')
  })

  it('keeps the internal job route out of the gateway', async () => {
    const bbox = (dense().bbox as number[]).join(',')
    const res = await t.sys.json(`/internal/job/v1/map-features?bbox=${bbox}`)
    expect(res.status).toBe(404)
  })
})
