/**
 * A job's record and result are deleted JOB_TTL_SECONDS after it was submitted (here a system
 * started with a TTL of 3 s): then the job is unknown.
 */
import { describe, expect, it } from 'vitest'
import { ended, submitted } from './support/jobs'
import { expectProblem } from './support/problem'
import { useSystem } from './support/system'

const TTL_SECONDS = 3
const t = useSystem({ vars: { JOB_TTL_SECONDS: String(TTL_SECONDS) } })

const jobStorage = async (id: string) => t.sys.gateway.getWorker('mly-jobs').getDurableObjectStorage('JOB', { name: id })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('expiry', () => {
  it('answers 404 for a job, its result and its events once it expired, and keeps nothing', async () => {
    const id = await submitted(t.sys, 'image-detections', { image_id: t.world.sampleImages.ordinary })
    const status = await ended(t.sys, id)
    expect(status.state).toBe('done')
    expect(Date.parse(status.expires_at) - Date.parse(status.created_at)).toBe(TTL_SECONDS * 1000)
    expect((await t.sys.fetch(`/v1/jobs/${id}/result`)).status).toBe(200)
    await sleep(Math.max(0, Date.parse(status.expires_at) - Date.now()) + 1500)
    for (const suffix of ['', '/result', '/events']) expectProblem(await t.sys.json(`/v1/jobs/${id}${suffix}`), 404, 'not_found')
    // The alarm deleted the record and the result (nothing left but SQLite's own tables).
    const tables = await (await jobStorage(id)).exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'")
    expect(tables).toEqual([])
  })
})
