import { describe, expect, it } from 'vitest'
import { classifyStatus, graphError } from './classify'

const body = (error: Record<string, unknown>) => JSON.stringify({ error })

describe('graphError', () => {
  it('reads the Graph error envelope, and nothing out of anything else', () => {
    expect(graphError(body({ code: 4, message: 'limit' }))).toEqual({ code: 4, message: 'limit' })
    for (const text of ['', 'not json', '5', '"error"', 'null', '{"error":"x"}', '{"error":null}', '{"data":[]}']) expect(graphError(text)).toBeUndefined()
  })
})

describe('classifyStatus', () => {
  it('takes a Graph throttling code as a rate limit on any 4xx, but not on a 5xx', () => {
    for (const code of [4, 17, 32, 613]) {
      expect(classifyStatus(400, body({ code }))).toEqual({ reason: 'rate_limited', retryable: true, status: 400, graphCode: code })
    }
    expect(classifyStatus(403, body({ code: 17 }), 60)).toEqual({ reason: 'rate_limited', retryable: true, status: 403, graphCode: 17, retryAfterSeconds: 60 })
    expect(classifyStatus(499, body({ code: 4 })).reason).toBe('rate_limited')
    expect(classifyStatus(500, body({ code: 4 }))).toEqual({ reason: 'unavailable', retryable: true, status: 500, graphCode: 4 })
    expect(classifyStatus(400, body({ code: 5 })).reason).toBe('bad_request')
  })

  it('is unauthorized on 401 whatever the body', () => {
    expect(classifyStatus(401, '')).toEqual({ reason: 'unauthorized', retryable: false, status: 401 })
  })

  it('believes "does not exist" and "nonexisting field" only from code 100', () => {
    expect(classifyStatus(400, body({ code: 803, message: 'Object does not exist' })).reason).toBe('bad_request')
    expect(classifyStatus(400, body({ message: 'Tried accessing nonexisting field (x)' })).reason).toBe('bad_request')
  })

  it('answers bad_response, not retried, for a 1xx or 3xx that reaches it, even with a throttling code', () => {
    expect(classifyStatus(304, '')).toEqual({ reason: 'bad_response', retryable: false, status: 304 })
    expect(classifyStatus(302, body({ code: 4 }))).toEqual({ reason: 'bad_response', retryable: false, status: 302, graphCode: 4 })
  })
})
