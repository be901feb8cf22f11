import { describe, expect, it } from 'vitest'
import { fail, problem, ProblemError, problemResponse, problemStatus, type ProblemCode } from './problem'

// Every code and its status (a new code without a line here fails `npm run typecheck`).
const STATUSES = {
  invalid_parameter: 400,
  invalid_bbox: 400,
  bbox_too_large: 422,
  box_too_costly: 422,
  invalid_body: 400,
  invalid_base64: 422,
  corrupt_tile: 422,
  empty_tile: 422,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  too_many_points: 422,
  job_not_ready: 409,
  job_interrupted: 503,
  invalid_token: 401,
  upstream_rate_limited: 503,
  upstream_unavailable: 503,
  upstream_error: 502,
  upstream_auth: 502,
  incomplete_result: 502,
  subrequest_budget_exceeded: 503,
  internal_error: 500,
  api_key_required: 401,
  invalid_api_key: 401,
  rate_limited: 429,
  uri_too_long: 414,
  deadline_exceeded: 503,
  service_unavailable: 503,
  signature_missing: 401,
  signature_malformed: 401,
  signature_mismatch: 401,
  signature_expired: 401,
  signature_replayed: 409,
  webhooks_disabled: 404,
  invalid_callback_url: 400,
  no_callback_url: 409,
} as const satisfies Record<ProblemCode, number>
const CODES = Object.keys(STATUSES) as ProblemCode[]

describe('problem', () => {
  it('gives every code its status, and a title of its own', () => {
    for (const code of CODES) {
      expect(problemStatus(code)).toBe(STATUSES[code])
      expect(problem(code, 'd').status).toBe(STATUSES[code])
    }
    const titles = CODES.map((code) => problem(code, 'd').title)
    for (const title of titles) expect(title).toMatch(/^[A-Z][^\n]{4,}$/)
    expect(new Set(titles).size).toBe(CODES.length)
  })

  it('builds the RFC 9457 members, extensions last', () => {
    expect(problem('invalid_bbox', 'south 2 is greater than north 1', { invalid_params: [] })).toEqual({
      type: 'https://mly-edge.dev/problems/invalid-bbox',
      title: 'Invalid bounding box',
      status: 400,
      detail: 'south 2 is greater than north 1',
      code: 'invalid_bbox',
      invalid_params: [],
    })
  })
})

describe('ProblemError and problemResponse', () => {
  it('fail throws a ProblemError carrying the problem and headers', () => {
    let caught: unknown
    try {
      fail('method_not_allowed', 'use GET', undefined, { allow: 'GET' })
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(ProblemError)
    const e = caught as ProblemError
    expect(e.name).toBe('ProblemError')
    expect(e.message).toBe('use GET')
    expect(e.problem.status).toBe(405)
    expect(e.headers).toEqual({ allow: 'GET' })
  })

  it('answers problem+json that no cache keeps, with the problem’s status', async () => {
    const res = problemResponse(problem('not_found', 'no such image'), { 'x-extra': '1' })
    expect(res.status).toBe(404)
    expect(Object.fromEntries(res.headers)).toEqual({ 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-extra': '1' })
    expect(await res.json()).toMatchObject({ code: 'not_found', detail: 'no such image' })
  })
})

// Found by a hostile client (issue 9): problems echoed input without a cap, tokens included.
describe('problemResponse bounds what a problem echoes', () => {
  it('cuts a 5,000-item invalid_params and a huge detail, and says it did', async () => {
    const unknown = Array.from({ length: 5000 }, (_, i) => `field_${i}`)
    const p = problem('invalid_parameter', `unknown fields ${unknown.map((f) => `'${f}'`).join(', ')}`, {
      invalid_params: unknown.map((name) => ({ name, reason: `unknown field '${name}'`.repeat(50) })),
    })
    const text = await problemResponse(p).text()
    expect(text.length).toBeLessThan(16 * 1024)
    const body = JSON.parse(text)
    expect(body.detail).toHaveLength(300)
    expect(body.detail.endsWith('…')).toBe(true)
    expect(body.detail.startsWith("unknown fields 'field_0', 'field_1'")).toBe(true)
    expect(body.invalid_params).toHaveLength(20)
    expect(body.invalid_params[19].name).toBe('field_19')
    expect(body.invalid_params[0].reason).toHaveLength(300)
    expect(body.echo_truncated).toBe(true)
    expect(body).toMatchObject({ status: 400, code: 'invalid_parameter', title: 'Invalid parameter', type: 'https://mly-edge.dev/problems/invalid-parameter' })
  })

  it('leaves a small problem exactly as built, with no echo_truncated member', async () => {
    const p = problem('box_too_costly', 'too costly', { limit: 200, needed_at_least: 201, invalid_params: [{ name: 'bbox', reason: 'r' }] })
    expect(await problemResponse(p).json()).toEqual(p)
  })

  it('redacts MLY| tokens (and what follows up to a delimiter) in the detail, extensions and names', async () => {
    const p = problem('invalid_parameter', "Query parameter 'object_values' 'MLY|4242|s3cr3t' is not an object value.", {
      invalid_params: [{ name: 'object_values', reason: "'mly|1|s3cr3t,x' and MLY%7C1%7Cs3cr3t" }],
      'MLY|9|s3cr3t': 1,
    })
    const text = await problemResponse(p).text()
    expect(text).not.toMatch(/s3cr3t/)
    const body = JSON.parse(text)
    expect(body.detail).toBe("Query parameter 'object_values' 'MLY|[redacted]' is not an object value.")
    expect(body.invalid_params[0].reason).toBe("'MLY|[redacted],x' and MLY|[redacted]")
    expect(body['MLY|[redacted]']).toBe(1)
  })
})
