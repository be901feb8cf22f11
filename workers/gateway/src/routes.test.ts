import { describe, expect, it } from 'vitest'
import { etagged, PUBLIC_ROUTES } from './routes'

describe('etagged', () => {
  it('tags the task answers and a job’s result, not a job’s status or event stream', () => {
    for (const path of ['/v1/map-features', '/v1/sequences/abc/detections', '/v1/images/1/detections', '/v1/jobs/0123456789abcdef0123456789abcdef/result']) {
      expect(etagged(path), path).toBe(true)
    }
    for (const path of ['/v1/jobs', '/v1/jobs/0123456789abcdef0123456789abcdef', '/v1/jobs/0123456789abcdef0123456789abcdef/events', '/v1/jobs/x/result/more']) {
      expect(etagged(path), path).toBe(false)
    }
  })

  it('sends every /v1/jobs route to the jobs Worker', () => {
    expect(PUBLIC_ROUTES.filter((r) => r.path.startsWith('/v1/jobs')).map((r) => [r.path, r.methods.join(), r.binding])).toEqual([
      ['/v1/jobs', 'POST', 'JOBS'],
      ['/v1/jobs/:jobId', 'GET', 'JOBS'],
      ['/v1/jobs/:jobId/result', 'GET', 'JOBS'],
      ['/v1/jobs/:jobId/events', 'GET', 'JOBS'],
    ])
  })
})
