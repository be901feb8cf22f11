/**
 * @module
 * The OpenAPI document as one readable HTML page, rendered here on the server: no script, no
 * outside resource, every text from the document escaped. A bundled viewer would cost far more than
 * the page it shows (files of the npm packages, 2026-12-01): Swagger UI 5.35 2.2 MB (bundle, preset,
 * CSS), Redoc 3.0 1.1 MB, Scalar 1.76 3.9 MB; this renderer is a few KB and the page about 100 KB.
 */
import type { OpenApiDocument, OpenApiOperation, OpenApiParameter, OpenApiResponse } from './document'

/**
 * The page's only style, inline; the Content-Security-Policy allows it by its hash.
 * @example await docsContentSecurityPolicy() // allows exactly DOCS_STYLE
 */
export const DOCS_STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f5f5f7;padding:.6rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
section{border-top:2px solid #ddd;margin-top:2rem}.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}.c{color:#6e6e73}`

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * Text safe in HTML content and in quoted attributes.
 * @example escapeHtml('<a href="x">') // '&lt;a href=&quot;x&quot;&gt;'
 */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch]!)
}

/** An anchor made only of `[a-z0-9-]`, whatever the text. */
function anchor(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
}

const REF = '#/components/schemas/'

/** A schema in a few words: its component's name (linked), or its type, pattern and values. */
function schemaWords(schema: unknown): string {
  if (!schema || typeof schema !== 'object') return ''
  const s = schema as Record<string, unknown>
  if (typeof s.$ref === 'string' && s.$ref.startsWith(REF)) {
    const name = s.$ref.slice(REF.length)
    return `<a href="#schema-${anchor(name)}">${escapeHtml(name)}</a>`
  }
  // allOf narrows a named schema (a problem's code and status): the name says enough.
  if (Array.isArray(s.allOf)) return (s.allOf as unknown[]).filter((x) => typeof (x as { $ref?: unknown }).$ref === 'string').map(schemaWords).join(' and ')
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[key])) return (s[key] as unknown[]).map(schemaWords).filter(Boolean).join(' or ')
  }
  const parts: string[] = []
  if (s.type !== undefined) parts.push(escapeHtml(Array.isArray(s.type) ? s.type.join(' or ') : s.type))
  if (s.type === 'array' && s.items) parts.push(`of ${schemaWords(s.items)}`)
  if (s.const !== undefined) parts.push(`<code>${escapeHtml(JSON.stringify(s.const))}</code>`)
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => `<code>${escapeHtml(v)}</code>`).join(', ')}`)
  if (typeof s.pattern === 'string') parts.push(`matching <code>${escapeHtml(s.pattern)}</code>`)
  if (typeof s.properties === 'object' && s.properties && s.type !== 'object') parts.push('object')
  return parts.join(' ')
}

function parameterRows(params: readonly OpenApiParameter[]): string {
  if (params.length === 0) return ''
  const rows = params.map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}${p.required ? ', required' : ''}</td><td>${schemaWords(p.schema)}</td><td>${escapeHtml(p.description ?? '')}${p.example !== undefined ? ` <span class="c">e.g. <code>${escapeHtml(p.example)}</code></span>` : ''}</td></tr>`,
  )
  return `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>meaning</th></tr>${rows.join('')}</table>`
}

function contentWords(content: Record<string, { schema?: unknown }> | undefined): string {
  return Object.entries(content ?? {})
    .map(([type, { schema }]) => `<code>${escapeHtml(type)}</code> ${schemaWords(schema)}`)
    .join('<br>')
}

/** Each code on a line with its title, which the description gives as `code: title; …`. */
function problemWords(codes: readonly string[], description: string): string {
  const titles = new Map(description.split('; ').map((part) => [part.slice(0, part.indexOf(': ')), part.slice(part.indexOf(': ') + 2)]))
  return codes.map((code) => `<code>${escapeHtml(code)}</code> ${escapeHtml(titles.get(code) ?? '')}`).join('<br>')
}

function responseRows(responses: Record<string, OpenApiResponse>): string {
  const rows = Object.entries(responses).map(([status, r]) => {
    const headers = Object.keys(r.headers ?? {}).map((h) => `<code>${escapeHtml(h)}</code>`).join(', ')
    return `<tr><td>${escapeHtml(status)}</td><td>${r['x-problem-codes'] ? problemWords(r['x-problem-codes'], r.description) : escapeHtml(r.description)}</td><td>${contentWords(r.content)}</td><td>${headers}</td></tr>`
  })
  return `<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th><th>headers</th></tr>${rows.join('')}</table>`
}

function operationSection(method: string, path: string, op: OpenApiOperation): string {
  const token = op.security?.some((s) => 'mapillaryToken' in s) ? '<p class="c">Optional <code>Authorization: OAuth MLY|…</code>: your own Mapillary token for this request’s upstream calls.</p>' : ''
  const body = op.requestBody ? `<h4>Request body</h4><p>${contentWords(op.requestBody.content)}</p>` : ''
  return `<section id="${anchor(`${method} ${path}`)}"><h3><span class="m">${escapeHtml(method)}</span><code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(op.summary ?? '')}</p>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}${token}${parameterRows(op.parameters ?? [])}${body}${responseRows(op.responses)}</section>`
}

/** A table of an object schema's members, or '' when it has none. */
function membersTable(schema: unknown): string {
  const s = (schema ?? {}) as { properties?: Record<string, unknown>; required?: string[] }
  if (!s.properties) return ''
  const required = new Set(s.required ?? [])
  const rows = Object.entries(s.properties).map(
    ([p, ps]) => `<tr><td><code>${escapeHtml(p)}</code>${required.has(p) ? '' : ' <span class="c">optional</span>'}</td><td>${schemaWords(ps)}</td><td>${escapeHtml((ps as { description?: string }).description ?? '')}</td></tr>`,
  )
  return `<table><tr><th>member</th><th>schema</th><th>meaning</th></tr>${rows.join('')}</table>`
}

function schemaSection(name: string, schema: unknown): string {
  const s = (schema ?? {}) as { description?: string; oneOf?: unknown[] }
  // A choice of objects (a job request per task): each one's members.
  const choices = Array.isArray(s.oneOf) ? s.oneOf.map((alt, i) => `<p>Choice ${i + 1}:</p>${membersTable(alt) || schemaWords(alt)}`).join('') : ''
  return `<section id="schema-${anchor(name)}"><h3>${escapeHtml(name)}</h3>${s.description ? `<p>${escapeHtml(s.description)}</p>` : ''}${membersTable(schema)}${choices}
<details><summary>JSON Schema</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details></section>`
}

/** The ways to authenticate, with their words. */
function securitySection(doc: OpenApiDocument): string {
  const schemes = Object.entries(doc.components.securitySchemes ?? {}) as [string, { type?: string; scheme?: string; in?: string; name?: string; description?: string }][]
  if (schemes.length === 0) return ''
  const rows = schemes.map(([id, s]) => `<tr><td><code>${escapeHtml(id)}</code></td><td>${escapeHtml(s.type === 'http' ? `Authorization: ${s.scheme ?? ''}` : `${s.in ?? ''} ${s.name ?? ''}`)}</td><td>${escapeHtml(s.description ?? '')}</td></tr>`)
  return `<h2>Authentication</h2><table><tr><th>scheme</th><th>sent as</th><th>meaning</th></tr>${rows.join('')}</table>`
}

/**
 * The whole reference page for `doc`.
 * @example renderDocsHtml(openApiDocument('https://api.example')) // '<!doctype html>…'
 */
export function renderDocsHtml(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op })))
  const toc = operations.map(({ method, path, op }) => `<li><a href="#${anchor(`${method} ${path}`)}"><span class="m">${escapeHtml(method)}</span><code>${escapeHtml(path)}</code></a> ${escapeHtml(op.summary ?? '')}</li>`)
  const description = (doc.info.description ?? '').split(/\n\n+/).map((p) => `<p>${escapeHtml(p)}</p>`).join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.info.title)} API reference</title><style>${DOCS_STYLE}</style></head><body>
<h1>${escapeHtml(doc.info.title)} API reference <span class="c">v${escapeHtml(doc.info.version)}</span></h1>${description}
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).${doc.servers?.[0] ? ` Server: <code>${escapeHtml(doc.servers[0].url)}</code>.` : ''}</p>
${securitySection(doc)}<h2>Routes</h2><ul>${toc.join('')}</ul>
${operations.map(({ method, path, op }) => operationSection(method, path, op)).join('\n')}
<h2>Schemas</h2>${Object.entries(doc.components.schemas ?? {}).map(([name, s]) => schemaSection(name, s)).join('\n')}
</body></html>`
}

/**
 * The page's Content-Security-Policy: nothing but its own inline style (by hash), no script, no
 * frame, no form.
 * @example await docsContentSecurityPolicy() // "default-src 'none'; style-src 'sha256-…'; …"
 */
export async function docsContentSecurityPolicy(): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(DOCS_STYLE))
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)))
  return `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
}
