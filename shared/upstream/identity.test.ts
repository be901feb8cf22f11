import { describe, expect, it } from 'vitest'
import { identityPart, isClientName, requestIdentity, upstreamIdentity } from './identity'
import { cacheKey } from '../cache/key'

const SERVER = 'MLY|4242424242|0123456789abcdef0123456789abcdef'
const A = 'MLY|1001|3f9a7c21d04b8e56a1c2f3e4d5b6a798'
const B = 'MLY|1002|3f9a7c21d04b8e56a1c2f3e4d5b6a799'
const env = { MAPILLARY_ACCESS_TOKEN: SERVER }

/** Every `n`-character piece of `text`. */
const windows = (text: string, n: number) => Array.from({ length: text.length - n + 1 }, (_, i) => text.slice(i, i + n))

describe('upstreamIdentity', () => {
  it('is `server` without a client token', async () => {
    expect(await upstreamIdentity(undefined, env)).toBe('server')
    expect(await upstreamIdentity('', {})).toBe('server')
    for (const h of [undefined, null, '', 'Basic dXNlcjpwYXNz', 'OAuth notmly', 'Bearer MLY|']) {
      expect(await requestIdentity(h, env), String(h)).toBe('server')
    }
  })

  it('is stable for one token, whichever header spelling carries it', async () => {
    const a = await upstreamIdentity(A, env)
    expect(a).toMatch(/^client:[0-9a-f]{64}$/)
    expect(await upstreamIdentity(A, env)).toBe(a)
    expect(await requestIdentity(`OAuth ${A}`, env)).toBe(a)
    expect(await requestIdentity(`bearer   ${A} `, env)).toBe(a)
  })

  it('differs between tokens, even one digit apart', async () => {
    const a = await upstreamIdentity(A, env)
    const b = await upstreamIdentity(B, env)
    expect(b).toMatch(/^client:[0-9a-f]{64}$/)
    expect(b).not.toBe(a)
  })

  it('is an HMAC-SHA256 keyed by TOKEN_HASH_KEY, else the server token, else a fixed label', async () => {
    const withKey = await upstreamIdentity(A, { ...env, TOKEN_HASH_KEY: 'k1' })
    expect(withKey).not.toBe(await upstreamIdentity(A, { ...env, TOKEN_HASH_KEY: 'k2' }))
    expect(withKey).not.toBe(await upstreamIdentity(A, env))
    expect(await upstreamIdentity(A, {})).not.toBe(await upstreamIdentity(A, env))
    // The server token as key: the same as giving it as TOKEN_HASH_KEY.
    expect(await upstreamIdentity(A, env)).toBe(await upstreamIdentity(A, { TOKEN_HASH_KEY: SERVER }))
    // An independent HMAC (Node's) agrees.
    const { createHmac } = await import('node:crypto')
    expect(withKey).toBe(`client:${createHmac('sha256', 'k1').update(A).digest('hex')}`)
  })

  it('never holds the token, nor any 6-character piece of its secret part', async () => {
    for (const token of [A, B, SERVER]) {
      for (const settings of [env, {}, { TOKEN_HASH_KEY: 'k' }]) {
        const id = await upstreamIdentity(token, settings)
        expect(id).not.toContain(token)
        expect(id.toLowerCase()).not.toContain('mly|')
        const secret = token.split('|')[2]!
        for (const piece of windows(secret, 6)) expect(id, piece).not.toContain(piece)
      }
    }
  })

  it('tells a client identity’s object names (and their parts’) from the server’s', async () => {
    const a = await upstreamIdentity(A, env)
    expect(isClientName(`seq:kx7r2u|id|px0|${a}`)).toBe(true)
    expect(isClientName(`seq:kx7r2u|id|px0|${a}#2/4`)).toBe(true)
    expect(isClientName(`mf-sweep:v1:{"bbox":[1,2,3,4]}|${a}`)).toBe(true)
    for (const name of [undefined, '', 'seq:kx7r2u|id|px0', 'seq:kx7r2u|id|px0#2/4', 'mf-sweep:v1:{"bbox":[1,2,3,4]}', 'seq:client:ab|id|px0']) {
      expect(isClientName(name), String(name)).toBe(false)
    }
  })

  it('goes into a cache key only for a client, and cacheKey takes it', async () => {
    const a = await upstreamIdentity(A, env)
    expect(identityPart('server')).toBeUndefined()
    expect(identityPart(a)).toBe(a)
    const server = await cacheKey('mf-images', { id: '1', identity: identityPart('server') })
    expect(server).toBe(await cacheKey('mf-images', { id: '1' }))
    const client = await cacheKey('mf-images', { id: '1', identity: identityPart(a) })
    expect(client).not.toBe(server)
    expect(client).not.toBe(await cacheKey('mf-images', { id: '1', identity: identityPart(await upstreamIdentity(B, env)) }))
  })
})

// Found by mutation testing (`npm run mutate`).
describe('upstreamIdentity, pinned', () => {
  it('keys the hash by the server token without the spaces around it, as the token itself is used', async () => {
    const { createHmac } = await import('node:crypto')
    const expected = `client:${createHmac('sha256', SERVER).update(A).digest('hex')}`
    expect(await upstreamIdentity(A, { MAPILLARY_ACCESS_TOKEN: ` ${SERVER}\n` })).toBe(expected)
  })
})
