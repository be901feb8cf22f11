import { describe, expect, it } from 'vitest'
import { tokenFrom } from './token'

describe('tokenFrom', () => {
  it('prefers a client OAuth or Bearer header, any case', () => {
    expect(tokenFrom('OAuth MLY|1|abc', 'MLY|9|srv')).toEqual({ token: 'MLY|1|abc', source: 'client' })
    expect(tokenFrom('oauth   MLY|1|abc ', 'MLY|9|srv')).toEqual({ token: 'MLY|1|abc', source: 'client' })
    expect(tokenFrom('Bearer MLY|1|abc', undefined)).toEqual({ token: 'MLY|1|abc', source: 'client' })
  })

  it('falls back to the server token for any other header', () => {
    for (const h of [undefined, null, '', 'Basic dXNlcjpwYXNz', 'OAuth notmly', 'Bearer MLY|', 'OAuth MLY|1|a b']) {
      expect(tokenFrom(h, 'MLY|9|srv')).toEqual({ token: 'MLY|9|srv', source: 'server' })
    }
  })

  it('is null with neither', () => {
    expect(tokenFrom(undefined, undefined)).toBeNull()
    expect(tokenFrom('Basic x', '  ')).toBeNull()
  })
})

// Found by mutation testing (`npm run mutate`).
describe('tokenFrom, pinned', () => {
  it('reads the scheme only at the start of the header', () => {
    expect(tokenFrom('XOAuth MLY|1|abc', 'MLY|9|srv')).toEqual({ token: 'MLY|9|srv', source: 'server' })
    expect(tokenFrom('Basic OAuth MLY|1|abc', 'MLY|9|srv')).toEqual({ token: 'MLY|9|srv', source: 'server' })
    expect(tokenFrom('  OAuth MLY|1|abc', 'MLY|9|srv')).toEqual({ token: 'MLY|1|abc', source: 'client' })
  })
})
