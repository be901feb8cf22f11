import { describe, expect, it } from 'vitest'
import { frameAncestors, pageHeaders } from './headers'

describe('frameAncestors', () => {
  it('takes EMBED_ANCESTORS as CSP sources, space- or comma-separated, * when unset', () => {
    expect(frameAncestors('https://city.example, https://*.blog.example')).toBe('https://city.example https://*.blog.example')
    expect(frameAncestors("'self' https://wiki.example:8443")).toBe("'self' https://wiki.example:8443")
    expect(frameAncestors(undefined)).toBe('*')
    expect(frameAncestors('  ')).toBe('*')
  })

  it('fails closed on anything that is no source expression: no directive injected, no word taken for a host', () => {
    for (const bad of ["https://a.example; script-src 'unsafe-inline'", "https://a.example 'unsafe-inline'", 'https://a.example/"><script>', 'javascript:alert(1)', 'data:']) {
      expect(frameAncestors(bad), bad).toBe("'none'")
    }
  })
})

describe('pageHeaders', () => {
  it('allows scripts and styles only from this origin, no inline script, and names the ancestors', () => {
    const csp = pageHeaders("'none'")['content-security-policy']!.split('; ')
    expect(csp).toEqual(["default-src 'none'", "script-src 'self'", "style-src 'self'", 'img-src https: http: data:', "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"])
    expect(pageHeaders('*')['x-content-type-options']).toBe('nosniff')
  })
})
