import { describe, expect, it } from 'vitest'
import type { OpenApiDocument } from './document'
import { escapeHtml, renderDocsHtml } from './render-html'

const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'

/** A document whose every text is markup, as a changed schema or description might carry. */
const hostile: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: `mly ${HOSTILE}`, version: `1${HOSTILE}`, description: `intro ${HOSTILE}\n\nsecond ${HOSTILE}` },
  servers: [{ url: `https://x.example/${HOSTILE}` }],
  paths: {
    [`/v1/${HOSTILE}`]: {
      get: {
        summary: HOSTILE,
        description: HOSTILE,
        parameters: [{ name: HOSTILE, in: 'query', required: true, description: HOSTILE, example: HOSTILE, schema: { type: 'string', pattern: HOSTILE, enum: [HOSTILE] } }],
        responses: {
          '400': { description: HOSTILE, headers: { [HOSTILE]: {} }, content: { [HOSTILE]: { schema: { $ref: `#/components/schemas/${HOSTILE}` } } }, 'x-problem-codes': [HOSTILE as never] },
        },
      },
    },
  },
  components: { schemas: { [HOSTILE]: { type: 'object', description: HOSTILE, properties: { [HOSTILE]: { type: 'string', description: HOSTILE, const: HOSTILE } } } } },
}

describe('renderDocsHtml', () => {
  it('escapes every text of the document: no markup of its own gets through', () => {
    const html = renderDocsHtml(hostile)
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<img')
    expect(html).not.toContain(HOSTILE)
    expect(html).not.toMatch(/<[a-z][^<>]*\sonerror=/i)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    // Anchors are made of [a-z0-9-] only, whatever the name.
    for (const [, id] of html.matchAll(/id="([^"]*)"/g)) expect(id).toMatch(/^[a-z0-9-]+$/)
  })

  it('escapes the five characters that matter in content and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;')
    expect(escapeHtml(42)).toBe('42')
  })
})
