import { describe, expect, it } from 'vitest'
import { allowedOrigin } from './cors-origin'

describe('allowedOrigin', () => {
  it('allows every origin with * or no list', () => {
    expect(allowedOrigin('https://a.example', '*')).toBe('*')
    expect(allowedOrigin(undefined, undefined)).toBe('*')
    expect(allowedOrigin('https://a.example', ' , ')).toBe('*')
  })

  it('echoes a listed origin and refuses others', () => {
    const list = 'https://a.example, https://b.example'
    expect(allowedOrigin('https://b.example', list)).toBe('https://b.example')
    expect(allowedOrigin('https://c.example', list)).toBeNull()
    expect(allowedOrigin('https://a.example.evil', list)).toBeNull()
    expect(allowedOrigin(undefined, list)).toBeNull()
  })
})
