/**
 * @module
 * The OpenAPI 3.1 document, generated from the zod schemas the Workers validate with (through
 * @hono/zod-openapi's registry and generator), the answer schemas, and the problem catalogue.
 * Generated ahead of time into openapi.generated.json (a unit test fails while that file differs
 * from what this makes; `npx vitest run --project unit workers/gateway/src/docs -u` writes it), so
 * the gateway serves it without zod or the generator: they would add 500 KB to its bundle and
 * about half a second of CPU to the first request of each isolate.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { ZodType } from 'zod'
import { catalogueEntry, byStatus, gatewayProblems, problemSchema, ROUTE_PROBLEMS } from './problems'
import { OPERATIONS, type AnswerDoc, type OperationDoc } from './operations'
import { etagged, PUBLIC_ROUTES } from '../routes'
import { PROBLEM_CONTENT_TYPE, type ProblemCode } from '../../../../shared/problem/problem'
import { REQUEST_ID } from '../../../../shared/http/on-error'

/** The parts of an OpenAPI 3.1 document this module and its readers touch. */
export interface OpenApiDocument {
  openapi: string
  info: { title: string; version: string; description?: string }
  servers?: { url: string }[]
  paths: Record<string, Record<string, OpenApiOperation>>
  components: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> }
  tags?: { name: string }[]
}

export interface OpenApiParameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  description?: string
  example?: unknown
  schema?: Record<string, unknown>
}

export interface OpenApiResponse {
  description: string
  headers?: Record<string, { description?: string; schema?: unknown }>
  content?: Record<string, { schema?: Record<string, unknown> }>
  'x-problem-codes'?: ProblemCode[]
}

export interface OpenApiOperation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: OpenApiParameter[]
  requestBody?: { required?: boolean; content: Record<string, { schema?: unknown }> }
  responses: Record<string, OpenApiResponse>
  security?: Record<string, string[]>[]
}

/**
 * `/v1/jobs/:jobId/result` → `/v1/jobs/{jobId}/result`.
 * @example openApiPath('/v1/images/:imageId/detections') // '/v1/images/{imageId}/detections'
 */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

/** Response headers, described once. */
const HEADERS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  'Cache-Control': { description: 'How long a client or CDN may reuse the answer', schema: { type: 'string' } },
  'X-Cache': { description: 'hit: served from the KV cache; miss: fetched upstream; stale: a copy past its time, because the upstream failed (stale-if-error)', schema: { type: 'string', enum: ['hit', 'miss', 'stale'] } },
  Age: { description: 'Only on a stale answer: seconds since it was made', schema: { type: 'integer', minimum: 0 } },
  'X-Upstream-Requests': { description: 'Upstream requests this answer cost (0 on a hit)', schema: { type: 'integer', minimum: 0 } },
  ETag: { description: 'Send it back in If-None-Match to get 304 while the answer is the same', schema: { type: 'string' } },
  Location: { description: "The job's status URL", schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer', minimum: 0 } },
  Allow: { description: 'The methods this route serves', schema: { type: 'string' } },
  'Content-Security-Policy': { description: 'No script, no outside resource', schema: { type: 'string' } },
  'X-Request-Id': { description: 'Names this request in the logs (yours if you sent a short safe one); also request_id in problems', schema: { type: 'string' } },
  'RateLimit-Limit': { description: 'Points per window for this key or client IP', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Points left in this window (a cache miss costs more than a hit)', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
  'WWW-Authenticate': { description: 'Bearer realm="mly-edge"', schema: { type: 'string' } },
  Vary: { description: 'Accept: the same URL answers GeoJSON or a stream of records by the Accept header when format is absent', schema: { type: 'string' } },
}

const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const

/** Headers a problem of `status` carries on a route (`job`: a fan-out the deadline turns into a job). */
function problemHeaders(status: number, v1: boolean, job: boolean): string[] {
  switch (status) {
    case 401:
      return ['WWW-Authenticate', ...(v1 ? RATE_LIMIT_HEADERS : [])]
    case 405:
      return ['Allow']
    case 409:
      return ['Retry-After']
    case 429:
      return ['Retry-After', ...RATE_LIMIT_HEADERS]
    case 503:
      return ['Retry-After', ...(job ? ['Location'] : [])]
    default:
      return []
  }
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' }

/** One response per status the route's problem codes have, each naming its codes and titles. */
function problemResponses(codes: readonly ProblemCode[], v1: boolean, job: boolean): Record<string, OpenApiResponse> {
  const out: Record<string, OpenApiResponse> = {}
  for (const [status, group] of byStatus(codes)) {
    const headers = [...problemHeaders(status, v1, job), 'X-Request-Id']
    out[String(status)] = {
      description: group.map((code) => `${code}: ${catalogueEntry(code).title}`).join('; '),
      headers: Object.fromEntries(headers.map((h) => [h, HEADERS[h]!])),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { allOf: [PROBLEM_REF, { type: 'object', properties: { status: { const: status }, code: { enum: group } } }] } } },
      'x-problem-codes': group,
    }
  }
  return out
}

function answerResponse(a: AnswerDoc, extraHeaders: readonly string[]) {
  const headers = [...(a.headers ?? []), ...extraHeaders]
  return {
    description: a.description,
    ...(headers.length ? { headers: Object.fromEntries(headers.map((h) => [h, HEADERS[h]!])) } : {}),
    ...(a.content ? { content: Object.fromEntries(Object.entries(a.content).map(([type, schema]) => [type, { schema: schema as ZodType }])) } : {}),
  }
}

/** `GET /v1/map-features` → `getV1MapFeatures`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1))
  return method.toLowerCase() + words.join('')
}

/**
 * Who may call a `/v1` route: anyone, unless the deployment sets REQUIRE_API_KEY=true; a key as a
 * Bearer or in X-API-Key; a Mapillary token where the route calls the upstream (only beside an
 * X-API-Key key, both being Authorization headers).
 */
function securityFor(op: OperationDoc): Record<string, string[]>[] {
  const keys: Record<string, string[]>[] = [{}, { apiKey: [] }, { apiKeyHeader: [] }]
  return op.clientToken ? [...keys, { mapillaryToken: [] }, { apiKeyHeader: [], mapillaryToken: [] }] : keys
}

function register(app: OpenAPIHono, key: string, op: OperationDoc): void {
  const [method, routerPath] = key.split(' ') as [string, string]
  const path = openApiPath(routerPath)
  const v1 = routerPath.startsWith('/v1/')
  const route = PUBLIC_ROUTES.find((r) => r.path === routerPath)
  // The gateway's etag middleware tags GET answers under /v1 (routes.ts decides which).
  const tagged = method === 'GET' && v1 && etagged(routerPath)
  const responses: Record<string, unknown> = {}
  for (const a of op.answers) responses[String(a.status)] = answerResponse(a, [...(a.status === 200 && tagged ? ['ETag'] : []), ...(v1 ? RATE_LIMIT_HEADERS : []), 'X-Request-Id'])
  if (tagged) responses['304'] = { description: 'Not modified: If-None-Match names the current ETag', headers: { ETag: HEADERS.ETag } }
  const codes = [...(ROUTE_PROBLEMS[key] ?? []), ...gatewayProblems(routerPath, route !== undefined)]
  Object.assign(responses, problemResponses(codes, v1, route !== undefined && 'job' in route && route.job !== undefined))
  app.openAPIRegistry.registerPath({
    method: method.toLowerCase() as 'get' | 'post',
    path,
    operationId: operationId(method, routerPath),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(v1 ? { security: securityFor(op) } : {}),
    request: {
      ...(op.request?.params ? { params: op.request.params } : {}),
      ...(op.request?.query ? { query: op.request.query } : {}),
      ...(op.request?.headers ? { headers: op.request.headers } : {}),
      ...(op.request?.body ? { body: { required: true, content: { 'application/json': { schema: op.request.body } } } } : {}),
    },
    responses: responses as never,
  })
}

/** Words and examples for each parameter; If-None-Match where the answer has an ETag; X-Request-Id everywhere. */
function describeParameters(doc: OpenApiDocument): void {
  for (const [key, op] of Object.entries(OPERATIONS)) {
    const [method, routerPath] = key.split(' ') as [string, string]
    const operation = doc.paths[openApiPath(routerPath)]?.[method.toLowerCase()]
    if (!operation) continue
    for (const p of operation.parameters ?? []) {
      const words = op.params?.[p.name]
      if (words) Object.assign(p, words.example !== undefined ? { description: words.description, example: words.example } : { description: words.description })
    }
    if (operation.responses['304']) {
      operation.parameters = [...(operation.parameters ?? []), { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag of an earlier answer: 304 if it is still current', schema: { type: 'string' } }]
    }
    operation.parameters = [
      ...(operation.parameters ?? []),
      { name: 'X-Request-Id', in: 'header', required: false, description: 'Your own id for this request, kept when it is a short safe string (else a fresh one): in the answer, its problem and the logs', example: 'r-7f9c2ba4', schema: { type: 'string', pattern: REQUEST_ID.source } },
    ]
  }
}

const DESCRIPTION = `The Mapillary Graph API v4 questions as complete answers: detections of a sequence, map features in a box past the 2000 cap, pixel geometry of detections, the images of a map feature, and any of them as a job with live progress.

Errors are RFC 9457 problem details (application/problem+json) with a machine-readable \`code\`; each response lists the codes a route can answer. Bad input is a 4xx; upstream trouble 502 or 503 (with Retry-After where known).

The contract is docs/api-v1.md; the readable form of this document is /docs.`

/**
 * The document without `servers` (the gateway adds its origin when it serves it).
 * @example buildOpenApiDocument().paths['/v1/map-features']?.get?.operationId // 'getV1MapFeatures'
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const app = new OpenAPIHono()
  app.openAPIRegistry.register('Problem', problemSchema)
  app.openAPIRegistry.registerComponent('securitySchemes', 'mapillaryToken', {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: "Optional: `OAuth MLY|…`, your own Mapillary token, used for this request's upstream calls instead of the server's. What it fetches is cached for that token alone (named by a keyed hash, never the token).",
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`npm run key -- create NAME`), as `Authorization: Bearer <key>`. Required when the deployment sets REQUIRE_API_KEY=true; else optional, and clients without one are limited per IP. A key has its own rate limit.',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKeyHeader', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'The same API key in its own header, which leaves Authorization free for a Mapillary token.',
  })
  for (const [key, op] of Object.entries(OPERATIONS)) register(app, key, op)
  const doc = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'mly-edge', version: '1', description: DESCRIPTION },
    tags: ['Detections', 'Map features', 'Jobs', 'Embedding', 'Service'].map((name) => ({ name })),
  }) as unknown as OpenApiDocument
  describeParameters(doc)
  return doc
}
