import { expect } from 'vitest'

/** Asserts a response is an RFC 9457 problem with this status (and code, when given). */
export function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, code?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(res.body.status).toBe(status)
  expect(typeof res.body.title).toBe('string')
  expect(typeof res.body.detail).toBe('string')
  expect(typeof res.body.type).toBe('string')
  if (code) expect(res.body.code).toBe(code)
}
