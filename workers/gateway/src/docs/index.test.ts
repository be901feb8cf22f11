import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { docs } from './index'
import type { OpenApiDocument } from './document'

describe('GET /openapi.json', () => {
  it('answers the OpenAPI 3.1 document as JSON, its server the origin asked', async () => {
    const res = await docs.request('https://mly.example.org/openapi.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    const doc = (await res.json()) as OpenApiDocument
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: 'https://mly.example.org' }])
    expect(doc.paths['/v1/map-features']?.get?.parameters?.map((p) => p.name)).toEqual(['bbox', 'object_values', 'fields', 'format', 'If-None-Match', 'X-Request-Id'])
  })
})

describe('GET /docs', () => {
  it('answers a readable page naming every route, its parameters and its problem codes', async () => {
    const res = await docs.request('http://localhost/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    const doc = (await (await docs.request('http://localhost/openapi.json')).json()) as OpenApiDocument
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const id = `${method} ${path}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
        const section = html.slice(html.indexOf(`<section id="${id}">`), html.indexOf('</section>', html.indexOf(`<section id="${id}">`)))
        expect(section, id).toContain(`<code>${path}</code>`)
        for (const p of op.parameters ?? []) expect(section, `${id} ${p.name}`).toContain(`<code>${p.name}</code>`)
        for (const r of Object.values(op.responses)) for (const code of r['x-problem-codes'] ?? []) expect(section, `${id} ${code}`).toContain(`<code>${code}</code>`)
      }
    }
    expect(html).toContain('<code>invalid_bbox</code>')
    expect(html).toContain('<a href="/openapi.json">/openapi.json</a>')
    expect(html).toContain('id="schema-mapfeaturecollection"')
  })

  it('loads nothing and runs nothing: no script, a CSP that allows only its own style by hash', async () => {
    const res = await docs.request('http://localhost/docs')
    const html = await res.text()
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\son[a-z]+=|javascript:/i)
    expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//i)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/^default-src 'none';/)
    expect(csp).not.toMatch(/unsafe-inline|script-src|\*/)
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    // Small: the whole reference, not a viewer bundle.
    expect(html.length).toBeLessThan(200_000)
  })

  it('shows the origin it is asked on, escaped', async () => {
    const html = await (await docs.request('https://a.example/docs')).text()
    expect(html).toContain('Server: <code>https://a.example</code>')
    const again = await (await docs.request('https://b.example/docs')).text()
    expect(again).toContain('Server: <code>https://b.example</code>')
  })
})
