import { describe, expect, it } from 'vitest'
import { useSystem } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()

// [request, status, code]: every malformed input is a 4xx problem+json, never a 5xx.
const GETS: Array<[string, number, string]> = [
  ['/v1/map-features', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=1,2,3', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=1,2,3,4,5', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=a,b,c,d', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=13,55.62,13.01,55.61', 400, 'invalid_bbox'], // south > north
  ['/v1/map-features?bbox=-181,0,0,1', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=0,-86,1,0', 400, 'invalid_bbox'], // past web mercator's ±85.0511
  ['/v1/map-features?bbox=NaN,0,1,1', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=Infinity,0,1,1', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=1e400,0,1,1', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=13,55.6,13.01,55.61&bbox=1,2,3,4', 400, 'invalid_bbox'],
  ['/v1/map-features?bbox=13,55.6,13.01,55.61&fields=secret_field', 400, 'invalid_parameter'],
  ['/v1/map-features?bbox=13,55.6,13.01,55.61&object_values=%22%3B%20DROP', 400, 'invalid_parameter'],
  ['/v1/map-features?bbox=-170,-80,170,80', 422, 'bbox_too_large'],
  ['/v1/sequences/bad%20id!/detections', 400, 'invalid_parameter'],
  [`/v1/sequences/${'a'.repeat(200)}/detections`, 400, 'invalid_parameter'],
  ['/v1/sequences/abc/detections?fields=nope', 400, 'invalid_parameter'],
  ['/v1/sequences/abc/detections?pixels=maybe', 400, 'invalid_parameter'],
  ['/v1/images/abc/detections', 400, 'invalid_parameter'],
  ['/v1/images/-1/detections', 400, 'invalid_parameter'],
  [`/v1/images/${'9'.repeat(40)}/detections`, 400, 'invalid_parameter'],
  ['/v1/map-features/12.5/detections', 400, 'invalid_parameter'],
  ['/v1/map-features/%00/images', 400, 'invalid_parameter'],
  ['/v1/nope', 404, 'route_not_found'],
  ['/v2/map-features', 404, 'route_not_found'],
]

const post = (body: string, contentType = 'application/json') =>
  t.sys.json('/v1/decode', { method: 'POST', headers: { 'content-type': contentType }, body })

const POSTS: Array<[string, string, number, string]> = [
  ['not json', '{', 400, 'invalid_body'],
  ['wrong content type', '{"geometry":"AA==","width":1,"height":1}', 400, 'invalid_body'],
  ['empty object', '{}', 400, 'invalid_body'],
  ['array', '[]', 400, 'invalid_body'],
  ['width zero', '{"geometry":"GiB4","width":0,"height":10}', 400, 'invalid_body'],
  ['height negative', '{"geometry":"GiB4","width":10,"height":-3}', 400, 'invalid_body'],
  ['width fractional', '{"geometry":"GiB4","width":1.5,"height":3}', 400, 'invalid_body'],
  ['width string', '{"geometry":"GiB4","width":"10","height":3}', 400, 'invalid_body'],
  ['geometry number', '{"geometry":5,"width":10,"height":3}', 400, 'invalid_body'],
  ['geometry empty', '{"geometry":"","width":10,"height":3}', 400, 'invalid_body'],
  ['not base64', '{"geometry":"@@@@","width":10,"height":3}', 422, 'invalid_base64'],
  ['not a tile', '{"geometry":"/9j/4AAQSkZJRg==","width":10,"height":3}', 422, 'corrupt_tile'],
]

describe('bad input', () => {
  it.each(GETS)('GET %s → %i %s', async (path, status, code) => {
    expectProblem(await t.sys.json(path), status, code)
  })

  it.each(POSTS)('POST /v1/decode with %s → %i %s', async (_name, body, status, code) => {
    const res = await post(body, _name === 'wrong content type' ? 'text/plain' : 'application/json')
    expectProblem(res, status, code)
  })

  it('refuses a geometry over 1 MiB with a 4xx', async () => {
    const res = await post(JSON.stringify({ geometry: 'A'.repeat(2 * 1024 * 1024), width: 10, height: 10 }))
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(res.headers.get('content-type')).toMatch(/problem\+json/)
  })

  it('answers 405 with Allow for a wrong method', async () => {
    const res = await t.sys.json('/v1/map-features?bbox=13,55.6,13.01,55.61', { method: 'POST' })
    expectProblem(res, 405, 'method_not_allowed')
    expect(res.headers.get('allow')).toBe('GET')
    expectProblem(await t.sys.json('/v1/decode'), 405, 'method_not_allowed')
  })

  it('stays up after the battery', async () => {
    expect((await t.sys.fetch('/healthz')).status).toBe(200)
  })
})
