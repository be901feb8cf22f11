import { describe, expect, it } from 'vitest'
import { answer, answerBody, answerJson } from './answer'

describe('answer', () => {
  it('writes the JSON once, with Cache-Control, x-cache and the upstream cost of a miss', async () => {
    const res = answer({ a: [1, 'x'] }, { maxAge: 300, hit: false, upstreamRequests: 7 })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('{"a":[1,"x"]}')
    expect(Object.fromEntries(res.headers)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-cache': 'miss',
      'x-upstream-requests': '7',
    })
  })

  it('says a hit cost no upstream request, whatever it is told', () => {
    const res = answer([], { maxAge: 60, hit: true, upstreamRequests: 7 })
    expect(res.headers.get('x-cache')).toBe('hit')
    expect(res.headers.get('x-upstream-requests')).toBe('0')
  })

  it('counts 0 upstream requests for a miss that does not say', () => {
    expect(answer(null, { maxAge: 60, hit: false }).headers.get('x-upstream-requests')).toBe('0')
  })
})

describe('answerJson', () => {
  it('sends the text as is, as GeoJSON when asked', async () => {
    const res = answerJson('{"type":"FeatureCollection", "features":[]}', { maxAge: 3600, hit: false, upstreamRequests: 2, contentType: 'application/geo+json' })
    expect(await res.text()).toBe('{"type":"FeatureCollection", "features":[]}')
    expect(res.headers.get('content-type')).toBe('application/geo+json; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600')
  })
})

describe('a stale answer (stale-if-error)', () => {
  it('says X-Cache: stale with its Age, and that no cache should keep it', async () => {
    const res = answerJson('{"a":1}', { maxAge: 3600, hit: true, stale: { ageSeconds: 4000 } })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('{"a":1}')
    expect(Object.fromEntries(res.headers)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache',
      'x-cache': 'stale',
      age: '4000',
      'x-upstream-requests': '0',
    })
  })

  it('has no Age when fresh', () => {
    expect(answerJson('1', { maxAge: 60, hit: true }).headers.has('age')).toBe(false)
  })

  it('sends the tag it is given as ETag; a streamed body with the same headers', async () => {
    const res = answerJson('{"a":1}', { maxAge: 60, hit: false, upstreamRequests: 3, etag: '"abc"', contentType: 'application/geo+json' })
    expect(res.headers.get('etag')).toBe('"abc"')
    expect(answerJson('1', { maxAge: 60, hit: false }).headers.get('etag')).toBeNull()
    const streamed = answerBody(new Response('{"a":1}').body!, { maxAge: 60, hit: false, upstreamRequests: 3, etag: '"abc"', contentType: 'application/geo+json' })
    expect(Object.fromEntries(streamed.headers)).toStrictEqual(Object.fromEntries(res.headers))
    expect(await streamed.text()).toBe('{"a":1}')
  })
})
