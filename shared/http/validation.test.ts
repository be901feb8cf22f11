import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { onError } from './on-error'
import { PROBLEM_CONTENT_TYPE } from '../problem/problem'
import { bboxParam, booleanParam, decodeBody, fieldsParam, imageId, mapFeatureId, objectValuesParam, sequenceId, validate, validationProblem } from './validation'

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

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('schemas, pinned', () => {
  it('fieldsParam lists every unknown field, each cut at 40 characters', () => {
    const f = fieldsParam(['id', 'value'], ['id'])
    expect(bad(f, 'a,id,b')).toBe("unknown fields 'a', 'b'; allowed: id, value")
    expect(bad(f, 'x'.repeat(50))).toBe(`unknown field '${'x'.repeat(40)}'; allowed: id, value`)
  })

  it('objectValuesParam takes exactly 50 values and names of up to 128 characters', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `v${i}`)
    expect(ok(objectValuesParam, fifty.join(','))).toEqual(fifty)
    expect(ok(objectValuesParam, 'a'.repeat(128))).toEqual(['a'.repeat(128)])
    expect(bad(objectValuesParam, 'a'.repeat(129))).toBe(`'${'a'.repeat(60)}' is not an object value (like regulatory--stop--g1)`)
  })

  it('sequenceId says what it takes', () => {
    expect(bad(sequenceId, 'a b')).toBe('must be 1 to 64 letters, digits, _ or -')
  })

  it('bboxParam: one item, long garbage, a flat box, exponents as JavaScript prints them', () => {
    expect(bad(bboxParam, '1')).toBe('must be 4 comma-separated numbers west,south,east,north; got 1 item')
    expect(bad(bboxParam, `${'9'.repeat(20)}x${'9'.repeat(20)},0,1,1`)).toBe(`west '${'9'.repeat(20)}x${'9'.repeat(9)}' is not a finite number`)
    expect(ok(bboxParam, '0,1,1,1')).toEqual([0, 1, 1, 1])
    expect(ok(bboxParam, '1e-7,0,1e+1,.25')).toEqual([1e-7, 0, 10, 0.25])
    expect(ok(bboxParam, '1.5e-10,0,1,1')).toEqual([1.5e-10, 0, 1, 1])
  })

  it('decodeBody: a missing size is required, a geometry that is not a string is named as base64', () => {
    expect(bad(decodeBody, { geometry: 'x', height: 1 })).toBe('is required')
    expect(bad(decodeBody, { geometry: 5, width: 1, height: 1 })).toBe('must be a string (base64)')
  })
})

describe('validationProblem, pinned', () => {
  const issuesOf = (s: z.ZodType, v: unknown) => s.safeParse(v).error!.issues

  it('finds the code registered under optional wrappers, for a member or the whole schema', () => {
    const optionalBbox = z.object({ bbox: bboxParam.optional() })
    expect(validationProblem(optionalBbox, issuesOf(optionalBbox, { bbox: '1' }), { noun: 'Param', code: 'invalid_parameter' }).code).toBe('invalid_bbox')
    const wrapped = z.object({ bbox: bboxParam }).optional()
    expect(validationProblem(wrapped, issuesOf(wrapped, { bbox: '1' }), { noun: 'Param', code: 'invalid_parameter' }).code).toBe('invalid_bbox')
    const p = validationProblem(bboxParam, issuesOf(bboxParam, '1'), { noun: 'Param', code: 'invalid_parameter' })
    expect([p.code, p.detail]).toEqual(['invalid_bbox', 'Param must be 4 comma-separated numbers west,south,east,north; got 1 item.'])
    expect(validationProblem(decodeBody, issuesOf(decodeBody, { geometry: '' }), { noun: 'Body member', code: 'invalid_parameter' }).code).toBe('invalid_body')
  })

  it('names a nested member by its dotted path', () => {
    const s = z.object({ a: z.object({ b: z.number() }) })
    expect(validationProblem(s, issuesOf(s, { a: { b: 'x' } }), { noun: 'Body member', code: 'invalid_body' })).toMatchObject({
      detail: "Body member 'a.b' Invalid input: expected number, received string.",
      invalid_params: [{ name: 'a.b', reason: 'Invalid input: expected number, received string' }],
    })
  })
})

describe('validate(), pinned', () => {
  const app = new Hono()
  app.post('/json', validate('json', z.object({ n: z.number() })), (c) => c.json(c.req.valid('json')))
  app.post('/downstream', validate('json', z.object({ n: z.number() })), () => {
    throw new Error('Malformed JSON in the upstream answer')
  })
  app.get('/bbox', validate('query', z.object({ bbox: bboxParam }), { code: 'invalid_parameter' }), (c) => c.text('ok'))
  app.get('/header', validate('header', z.object({ 'x-id': imageId })), (c) => c.text('ok'))
  app.post('/form', validate('form', z.object({ id: imageId })), (c) => c.text('ok'))
  app.get('/cookie', validate('cookie', z.object({ id: imageId })), (c) => c.text('ok'))
  app.onError(onError)
  const post = (path: string, body: string, type: string) => app.request(path, { method: 'POST', body, headers: { 'content-type': type } })

  it('answers invalid_body for any JSON body schema, registered or not', async () => {
    const res = await post('/json', '{"n":"x"}', 'application/json')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'invalid_body', detail: "Body member 'n' Invalid input: expected number, received string." })
  })

  it('lets the code option override a registered code', async () => {
    expect(await (await app.request('/bbox?bbox=1')).json()).toMatchObject({ code: 'invalid_parameter' })
  })

  it('accepts JSON media types with a suffix and spaces before the parameters, and nothing else', async () => {
    expect((await post('/json', '{"n":1}', 'application/vnd.api+json')).status).toBe(200)
    expect((await post('/json', '{"n":1}', 'application/json ; charset=utf-8')).status).toBe(200)
    for (const type of ['application/json-seq', 'text/application/json']) {
      const res = await post('/json', '{"n":1}', type)
      expect(await res.json()).toMatchObject({ code: 'invalid_body', detail: 'The request body must be JSON, sent with Content-Type: application/json.' })
    }
  })

  it('lets an error thrown after validation through, even one that mentions malformed JSON', async () => {
    const res = await post('/downstream', '{"n":1}', 'application/json')
    expect(res.status).toBe(500)
    expect(await res.json()).toMatchObject({ code: 'internal_error' })
  })

  it('names headers, form fields and other inputs', async () => {
    expect(await (await app.request('/header', { headers: { 'x-id': 'abc' } })).json()).toMatchObject({ detail: "Header 'x-id' must be a numeric id of 1 to 20 digits." })
    const form = new FormData()
    form.set('id', 'abc')
    expect(await (await app.request('/form', { method: 'POST', body: form })).json()).toMatchObject({ detail: "Form field 'id' must be a numeric id of 1 to 20 digits." })
    expect(await (await app.request('/cookie', { headers: { cookie: 'id=abc' } })).json()).toMatchObject({ detail: "Input 'id' must be a numeric id of 1 to 20 digits." })
  })
})
