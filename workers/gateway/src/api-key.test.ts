import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { forwardedHeaders, keyRecordName, sentKey } from './api-key'

const KEY = `mlyk_${'x'.repeat(21)}${'Y_-'.repeat(7)}2`

describe('sentKey', () => {
  it('reads a key from Authorization: Bearer or X-API-Key (which wins)', () => {
    expect(KEY).toHaveLength(48)
    expect(sentKey(new Headers({ authorization: `Bearer ${KEY}` }))).toBe(KEY)
    expect(sentKey(new Headers({ authorization: `bearer   ${KEY} ` }))).toBe(KEY)
    expect(sentKey(new Headers({ 'x-api-key': ` ${KEY} ` }))).toBe(KEY)
    expect(sentKey(new Headers({ 'x-api-key': KEY, authorization: 'OAuth MLY|1|abc' }))).toBe(KEY)
  })

  it('never takes a Mapillary token for a key', () => {
    for (const authorization of ['OAuth MLY|1|abc', 'Bearer MLY|1|abc', 'bearer mly|1|abc']) {
      expect(sentKey(new Headers({ authorization })), authorization).toBeUndefined()
    }
    expect(sentKey(new Headers())).toBeUndefined()
    expect(sentKey(new Headers({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeUndefined()
  })

  it('calls anything else in a key’s place malformed', () => {
    for (const value of ['mlyk_short', `${KEY}x`, KEY.replace('mlyk_', 'mlyx_'), '', 'a b']) {
      expect(sentKey(new Headers({ 'x-api-key': value })), value).toBe('malformed')
    }
    expect(sentKey(new Headers({ authorization: 'Bearer abc' }))).toBe('malformed')
  })
})

describe('keyRecordName', () => {
  it('is key: and the SHA-256 of the key in hex, never the key', async () => {
    const name = await keyRecordName(KEY)
    expect(name).toBe(`key:${createHash('sha256').update(KEY).digest('hex')}`)
    expect(name).not.toContain(KEY.slice(5))
  })
})

describe('forwardedHeaders', () => {
  it('drops the key, keeps a Mapillary token and everything else, and sets the request id', () => {
    const out = forwardedHeaders(new Headers({ 'x-api-key': KEY, authorization: 'OAuth MLY|1|abc', accept: 'application/json', 'x-request-id': 'forged' }), 'r-1')
    expect([...out]).toEqual([
      ['accept', 'application/json'],
      ['authorization', 'OAuth MLY|1|abc'],
      ['x-request-id', 'r-1'],
    ])
    expect([...forwardedHeaders(new Headers({ authorization: `Bearer ${KEY}` }), 'r-2')]).toEqual([['x-request-id', 'r-2']])
    expect([...forwardedHeaders(new Headers({ authorization: 'Basic dXNlcjpwYXNz' }), 'r-3')]).toEqual([['x-request-id', 'r-3']])
  })
})
