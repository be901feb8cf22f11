import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { onError } from './on-error'
import { PROBLEM_CONTENT_TYPE } from './problem'
import { bboxParam, booleanParam, decodeBody, fieldsParam, imageId, mapFeatureId, objectValuesParam, sequenceId, validate } from './validation'

const ok = <T>(s: z.ZodType<T>, v: unknown) => s.parse(v)
const bad = (s: z.ZodType, v: unknown) => {
  const r = s.safeParse(v)
  expect(r.success).toBe(false)
  return r.error!.issues[0]!.message
}

describe('schemas', () => {
  it('imageId / mapFeatureId: 1–20 digits', () => {
    for (const s of [imageId, mapFeatureId]) {
      expect(ok(s, '315219450124680')).toBe('315219450124680')
      expect(ok(s, '1')).toBe('1')
      for (const v of ['', 'abc', '12a', '-1', '1'.repeat(21), ' 1']) expect(bad(s, v)).toMatch(/numeric id/)
      expect(bad(s, undefined)).toBe('is required')
    }
  })

  it('sequenceId: 1–64 of [A-Za-z0-9_-]', () => {
    expect(ok(sequenceId, 'kx7r2uYeFwT6XCfvqh30VZ')).toBe('kx7r2uYeFwT6XCfvqh30VZ')
    expect(ok(sequenceId, 'a_b-C')).toBe('a_b-C')
    for (const v of ['', 'a b', 'a/b', 'x'.repeat(65), 'é']) bad(sequenceId, v)
  })

  it('fieldsParam: allowed only, deduped, defaults when absent', () => {
    const f = fieldsParam(['id', 'value', 'geometry'], ['id', 'value'])
    expect(ok(f, undefined)).toEqual(['id', 'value'])
    expect(ok(f, '')).toEqual(['id', 'value'])
    expect(ok(f, 'geometry, id,geometry,')).toEqual(['geometry', 'id'])
    expect(bad(f, 'id,thumb_url')).toBe("unknown field 'thumb_url'; allowed: id, value, geometry")
    expect(bad(f, ['id', 'value'])).toBe('must be given only once')
  })

  it('objectValuesParam: value names, ≤ 50, deduped', () => {
    expect(ok(objectValuesParam, 'regulatory--stop--g1,object--vehicle--car,regulatory--stop--g1')).toEqual(['regulatory--stop--g1', 'object--vehicle--car'])
    expect(ok(objectValuesParam, 'regulatory--maximum-speed-limit-50--g1')).toEqual(['regulatory--maximum-speed-limit-50--g1'])
    expect(ok(objectValuesParam, undefined)).toBeUndefined()
    expect(ok(objectValuesParam, '')).toBeUndefined()
    expect(bad(objectValuesParam, 'Object--Car')).toMatch(/not an object value/)
    expect(bad(objectValuesParam, 'a---b')).toMatch(/not an object value/)
    expect(bad(objectValuesParam, 'a;drop')).toMatch(/not an object value/)
    expect(bad(objectValuesParam, Array.from({ length: 51 }, (_, i) => `v${i}`).join(','))).toMatch(/at most 50/)
  })

  it('booleanParam: true/false/1/0, default false', () => {
    expect(ok(booleanParam, undefined)).toBe(false)
    expect(ok(booleanParam, 'true')).toBe(true)
    expect(ok(booleanParam, '1')).toBe(true)
    expect(ok(booleanParam, 'false')).toBe(false)
    expect(ok(booleanParam, '0')).toBe(false)
    for (const v of ['yes', 'TRUE', '', '2']) expect(bad(booleanParam, v)).toBe('must be true, false, 1 or 0')
  })

  it('bboxParam: 4 finite numbers in range, south ≤ north, antimeridian allowed', () => {
    expect(ok(bboxParam, '-79.54,8.94,-79.52,8.96')).toEqual([-79.54, 8.94, -79.52, 8.96])
    expect(ok(bboxParam, ' 179.9 , -1, -179.9, 1')).toEqual([179.9, -1, -179.9, 1])
    expect(ok(bboxParam, '-180,-85.0511,180,85.0511')).toEqual([-180, -85.0511, 180, 85.0511])
    expect(ok(bboxParam, '1e1,0,2e1,.5')).toEqual([10, 0, 20, 0.5])
    expect(bad(bboxParam, '1,2,3')).toMatch(/4 comma-separated numbers/)
    expect(bad(bboxParam, '1,2,3,4,5')).toMatch(/got 5 items/)
    expect(bad(bboxParam, '1,,3,4')).toMatch(/south '' is not a finite number/)
    expect(bad(bboxParam, 'a,2,3,4')).toMatch(/west 'a'/)
    expect(bad(bboxParam, 'Infinity,2,3,4')).toMatch(/finite/)
    expect(bad(bboxParam, '0x10,2,3,4')).toMatch(/finite/)
    expect(bad(bboxParam, '-181,0,1,1')).toMatch(/west -181 is outside/)
    expect(bad(bboxParam, '0,0,180.5,1')).toMatch(/east 180.5 is outside/)
    expect(bad(bboxParam, '0,-86,1,1')).toMatch(/south -86 is outside/)
    expect(bad(bboxParam, '0,0,1,85.06')).toMatch(/north 85.06 is outside/)
    expect(bad(bboxParam, '0,2,1,1')).toMatch(/south 2 is greater than north 1/)
    expect(bad(bboxParam, undefined)).toBe('is required')
  })

  it('decodeBody: geometry string ≤ 1 MiB, integer sizes 1..100000, extras ignored', () => {
    expect(ok(decodeBody, { geometry: 'GjV4', width: 4032, height: 3024, extra: 1 })).toEqual({ geometry: 'GjV4', width: 4032, height: 3024 })
    expect(bad(decodeBody, { geometry: '', width: 1, height: 1 })).toBe('must not be empty')
    expect(bad(decodeBody, { geometry: 'x'.repeat(1024 * 1024 + 1), width: 1, height: 1 })).toMatch(/at most/)
    expect(bad(decodeBody, { geometry: 'x', width: 0, height: 1 })).toBe('must be at least 1')
    expect(bad(decodeBody, { geometry: 'x', width: 1, height: 100001 })).toBe('must be at most 100000')
    expect(bad(decodeBody, { geometry: 'x', width: 1.5, height: 1 })).toBe('must be an integer')
    expect(bad(decodeBody, { geometry: 'x', width: '4032', height: 1 })).toBe('must be a number')
    expect(bad(decodeBody, { width: 1, height: 1 })).toBe('is required')
    expect(bad(decodeBody, [1])).toMatch(/JSON object/)
  })
})

describe('validate()', () => {
  const app = new Hono()
  app.get(
    '/v1/map-features',
    validate('query', z.object({ bbox: bboxParam, object_values: objectValuesParam.optional(), fields: fieldsParam(['object_type'], []) })),
    (c) => {
      const { bbox, object_values, fields } = c.req.valid('query')
      const tuple: [number, number, number, number] = bbox // typed output
      return c.json({ bbox: tuple, object_values: object_values ?? null, fields })
    },
  )
  app.get('/v1/images/:imageId/detections', validate('param', z.object({ imageId })), validate('query', z.object({ pixels: booleanParam })), (c) =>
    c.json({ id: c.req.valid('param').imageId, pixels: c.req.valid('query').pixels }),
  )
  app.post('/v1/decode', validate('json', decodeBody), (c) => c.json(c.req.valid('json')))
  app.get('/strict', validate('query', z.object({ n: imageId }), { code: 'invalid_body' }), (c) => c.text('ok'))
  app.onError(onError)

  async function problemOf(res: Response) {
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE)
    return (await res.json()) as { code: string; detail: string; status: number; invalid_params: { name: string; reason: string }[] }
  }

  it('passes good input through, typed, ignoring unknown parameters', async () => {
    const res = await app.request('/v1/map-features?bbox=1,2,3,4&fields=object_type&utm_source=x')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ bbox: [1, 2, 3, 4], object_values: null, fields: ['object_type'] })
    const img = await app.request('/v1/images/123/detections?pixels=1')
    expect(await img.json()).toEqual({ id: '123', pixels: true })
  })

  it('answers invalid_bbox naming bbox and the reason', async () => {
    const p = await problemOf(await app.request('/v1/map-features?bbox=0,2,1,1'))
    expect(p).toMatchObject({ code: 'invalid_bbox', status: 400, detail: "Query parameter 'bbox' south 2 is greater than north 1." })
    expect(p.invalid_params).toEqual([{ name: 'bbox', reason: 'south 2 is greater than north 1' }])
    expect((await problemOf(await app.request('/v1/map-features'))).detail).toBe("Query parameter 'bbox' is required.")
  })

  it('answers invalid_parameter for other query and path parameters', async () => {
    const p = await problemOf(await app.request('/v1/map-features?bbox=1,2,3,4&fields=thumb_url'))
    expect(p.code).toBe('invalid_parameter')
    expect(p.detail).toContain("'fields'")
    expect(p.detail).toContain("'thumb_url'")
    expect((await problemOf(await app.request('/v1/images/abc/detections'))).detail).toBe("Path parameter 'imageId' must be a numeric id of 1 to 20 digits.")
    expect((await problemOf(await app.request('/v1/images/1/detections?pixels=yes'))).code).toBe('invalid_parameter')
    expect((await problemOf(await app.request('/v1/map-features?bbox=1,2,3,4&bbox=1,2,3,4'))).detail).toContain('only once')
  })

  it('honours the code option', async () => {
    expect((await problemOf(await app.request('/strict?n=x'))).code).toBe('invalid_body')
  })

  it('answers invalid_body for bad, malformed or non-JSON bodies', async () => {
    const post = (body: string, type = 'application/json') => app.request('/v1/decode', { method: 'POST', body, headers: { 'content-type': type } })
    const good = await post(JSON.stringify({ geometry: 'GjV4', width: 10, height: 20 }))
    expect(good.status).toBe(200)
    const p = await problemOf(await post(JSON.stringify({ geometry: 'GjV4', width: 0, height: 20 })))
    expect(p).toMatchObject({ code: 'invalid_body', detail: "Body member 'width' must be at least 1." })
    expect(await problemOf(await post('{"geometry":'))).toMatchObject({ code: 'invalid_body', detail: 'The request body is not valid JSON.' })
    expect((await problemOf(await post('{}', 'text/plain'))).detail).toMatch(/Content-Type: application\/json/)
    expect((await problemOf(await post('[]'))).detail).toMatch(/^The request body must be a JSON object/)
  })
})
