import { describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64 } from './base64'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

describe('decodeBase64', () => {
  it('decodes standard base64 with padding', () => {
    expect(decodeBase64('aGVsbG8gd29ybGQ=')).toEqual(new TextEncoder().encode('hello world'))
  })
  it('decodes standard base64 without padding', () => {
    expect(decodeBase64('aGVsbG8gd29ybGQ')).toEqual(new TextEncoder().encode('hello world'))
    expect(decodeBase64('YQ')).toEqual(bytes(0x61))
  })
  it('decodes the URL-safe alphabet, padded or not', () => {
    expect(decodeBase64('-_8')).toEqual(bytes(0xfb, 0xff))
    expect(decodeBase64('-_8=')).toEqual(bytes(0xfb, 0xff))
    expect(decodeBase64('+/8=')).toEqual(bytes(0xfb, 0xff))
  })
  it('decodes a real detection geometry', () => {
    const b = decodeBase64('GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw==')
    expect(b?.length).toBe(34)
    expect(b?.[0]).toBe(0x1a)
  })
  it.each([
    ['empty string', ''],
    ['only padding', '=='],
    ['not base64 at all', '!!!notbase64'],
    ['inner whitespace', 'aGVs bG8='],
    ['trailing newline', 'aGVsbG8=\n'],
    ['mixed alphabets', 'ab+_'],
    ['one dangling character', 'aGVsb'],
    ['padding in the middle', 'aG=sbG8='],
    ['too much padding', 'YQ==='],
    ['wrong padding length', 'YWI=='],
    ['non-ASCII', 'aGVsbG8é'],
  ])('rejects %s → null', (_name, input) => {
    expect(decodeBase64(input)).toBeNull()
  })
})

describe('encodeBase64', () => {
  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(decodeBase64(encodeBase64(all))).toEqual(all)
  })
  it('round-trips a buffer larger than one chunk', () => {
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff)
    const back = decodeBase64(encodeBase64(big))
    expect(back?.length).toBe(big.length)
    expect(back?.every((v, i) => v === big[i])).toBe(true)
  })
  it('writes padded standard base64', () => {
    expect(encodeBase64(bytes(0xfb, 0xff))).toBe('+/8=')
    expect(encodeBase64(new Uint8Array(0))).toBe('')
  })
})

// Found by mutation testing (`npm run mutate`).
describe('decodeBase64, pinned', () => {
  it('answers null, never throws, for what is not a string at all (JSON may hold anything)', () => {
    for (const v of [5, null, undefined, { geometry: 'YQ' }]) expect(decodeBase64(v as unknown as string)).toBeNull()
  })
})
