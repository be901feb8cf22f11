import { describe, expect, it } from 'vitest'
import { jobRequest } from '../../../shared/http/task-params'
import { asksForStream, etagged, PUBLIC_ROUTES } from './routes'

describe('etagged', () => {
  it('tags the task answers and a job’s result, not a job’s status or event stream, nor a trigger or a redelivery', () => {
    for (const path of ['/v1/map-features', '/v1/sequences/abc/detections', '/v1/images/1/detections', '/v1/jobs/0123456789abcdef0123456789abcdef/result']) {
      expect(etagged(path), path).toBe(true)
    }
    for (const path of ['/v1/jobs', '/v1/jobs/0123456789abcdef0123456789abcdef', '/v1/jobs/0123456789abcdef0123456789abcdef/events', '/v1/jobs/x/result/more', '/v1/hooks/image-detections', '/v1/jobs/0123456789abcdef0123456789abcdef/redeliver']) {
      expect(etagged(path), path).toBe(false)
    }
  })

  it('sends every /v1/jobs and /v1/hooks route to the jobs Worker', () => {
    expect(PUBLIC_ROUTES.filter((r) => /^\/v1\/(jobs|hooks)/.test(r.path)).map((r) => [r.path, r.methods.join(), r.binding])).toEqual([
      ['/v1/jobs', 'POST', 'JOBS'],
      ['/v1/jobs/:jobId', 'GET', 'JOBS'],
      ['/v1/jobs/:jobId/result', 'GET', 'JOBS'],
      ['/v1/jobs/:jobId/events', 'GET', 'JOBS'],
      ['/v1/jobs/:jobId/redeliver', 'POST', 'JOBS'],
      ['/v1/hooks/:task', 'POST', 'JOBS'],
    ])
  })
})

describe('the job a route goes on as past the deadline', () => {
  const job = (path: string) => PUBLIC_ROUTES.find((r) => r.path === path)!.job!

  it('asks the same question: the job’s synchronous path is the request’s', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['/v1/sequences/:sequenceId/detections', { sequenceId: 'NXXERQlJzUT20ZJZEHg4bf' }, 'fields=id%2Cvalue&pixels=true'],
      ['/v1/map-features', {}, 'bbox=-79.54%2C8.94%2C-79.52%2C8.96&object_values=object--street-light&fields=object_type'],
      ['/v1/map-features/:mapFeatureId/images', { mapFeatureId: '897467189777867' }, ''],
    ]
    for (const [route, params, query] of cases) {
      const spec = job(route)
      const made = jobRequest(spec.task, spec.params(params, new URLSearchParams(query)))
      const path = route.replace(/:(\w+)/, (_, name: string) => params[name]!)
      expect(made, route).toEqual({ ok: true, path: query ? `${path}?${query}` : path })
    }
  })

  it('a stream asked past the deadline goes on as the plain question (a job’s result is GeoJSON)', () => {
    const spec = job('/v1/map-features')
    expect(jobRequest(spec.task, spec.params({}, new URLSearchParams('bbox=1%2C2%2C3%2C4&format=geojsonseq')))).toEqual({ ok: true, path: '/v1/map-features?bbox=1%2C2%2C3%2C4' })
  })

  it('is there for the fan-outs that have a job task, not for one image or a decode', () => {
    expect(PUBLIC_ROUTES.filter((r) => r.job).map((r) => [r.path, r.job!.task])).toEqual([
      ['/v1/sequences/:sequenceId/detections', 'sequence-detections'],
      ['/v1/map-features', 'map-features'],
      ['/v1/map-features/:mapFeatureId/images', 'feature-images'],
    ])
  })
})

describe('asksForStream (no ETag for a stream)', () => {
  it('map features with format=geojsonseq, or Accept: application/geo+json-seq and no format; nothing else', () => {
    const q = (s: string) => new URLSearchParams(s)
    expect(asksForStream('/v1/map-features', q('bbox=1,2,3,4&format=geojsonseq'), null)).toBe(true)
    expect(asksForStream('/v1/map-features', q('bbox=1,2,3,4'), 'application/geo+json-seq')).toBe(true)
    expect(asksForStream('/v1/map-features', q('bbox=1,2,3,4&format=geojson'), 'application/geo+json-seq')).toBe(false)
    expect(asksForStream('/v1/map-features', q('bbox=1,2,3,4'), 'application/geo+json')).toBe(false)
    expect(asksForStream('/v1/map-features/1/images', q('format=geojsonseq'), 'application/geo+json-seq')).toBe(false)
  })
})
