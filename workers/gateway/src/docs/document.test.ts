import { readdirSync, readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it, vi } from 'vitest'
import { jobParamNames, JOB_TASKS, jobRequest, mapFeaturesQuery } from '../../../../shared/http/task-params'
import { validationProblem } from '../../../../shared/http/validation'
import { problem } from '../../../../shared/problem/problem'
import { UpstreamError } from '../../../../shared/upstream/errors'
import { upstreamProblem } from '../../../../shared/upstream/to-problem'
import { boxTooCostly } from '../../../map-features/src/box-limits'
import { isJobId, newJobId } from '../../../jobs/src/job-id'
import { PUBLIC_ROUTES } from '../routes'
import { docs } from './index'
import { buildOpenApiDocument, openApiPath, type OpenApiDocument, type OpenApiOperation } from './document'
import { openApiDocument } from './served-document'
import { OPERATIONS } from './operations'
import { gatewayProblems, PROBLEM_CODES, ROUTE_PROBLEMS } from './problems'
import { JOB_PARAMS, jobIdParam } from './requests'

// The gateway exports its rate limiter's Durable Object class, which Node cannot import.
vi.mock('cloudflare:workers', () => ({ DurableObject: class {}, WorkerEntrypoint: class {} }))

const doc = openApiDocument('https://api.example')

function operations(d: OpenApiDocument): { key: string; path: string; method: string; op: OpenApiOperation }[] {
  return Object.entries(d.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })))
}

/** A JSON Schema validator over the document's schemas (its `$ref`s made absolute). */
function schemaChecker(d: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  const base = 'https://mly-edge.test/openapi.json'
  ajv.addSchema({ $id: base, components: d.components })
  const absolute = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(absolute) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#') ? base + x : absolute(x)])) : v
  return (schema: unknown, value: unknown) => {
    const check = ajv.compile(absolute(schema) as object)
    return { ok: check(value) as boolean, errors: JSON.stringify(check.errors) }
  }
}
const check = schemaChecker(doc)

const responseSchema = (path: string, method: string, status: number, type = 'application/problem+json') => doc.paths[path]![method]!.responses[String(status)]!.content![type]!.schema
const requestSchema = (path: string) => doc.paths[path]!.post!.requestBody!.content['application/json']!.schema

describe('the OpenAPI document', () => {
  it('is served as generated from the schemas now (else: npx vitest run --project unit workers/gateway/src/docs -u)', async () => {
    await expect(`${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`).toMatchFileSnapshot('./openapi.generated.json')
  })

  it('is a valid OpenAPI 3.1 document served from the origin it is asked on', async () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: 'https://api.example' }])
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy()
  })

  it('has exactly the paths and methods the gateway routes, so a route without docs fails here', async () => {
    const gateway = (await import('../index')).default
    const publicPaths = new Set(PUBLIC_ROUTES.map((r) => r.path))
    const served = new Set<string>()
    for (const r of PUBLIC_ROUTES) for (const m of r.methods) served.add(`${m} ${openApiPath(r.path)}`)
    // The gateway's own routes (/healthz, /readyz, …) and this sub-app's, mounted or not yet.
    for (const r of [...gateway.routes, ...docs.routes]) {
      if (r.method === 'ALL' || r.path.includes('*')) continue
      served.add(`${r.method} ${openApiPath(r.path)}`)
    }
    // Every public route is forwarded by an app.all of that very path.
    expect(gateway.routes.filter((r) => r.method === 'ALL' && publicPaths.has(r.path)).map((r) => r.path).sort()).toEqual([...publicPaths].sort())
    expect(operations(doc).map((o) => o.key).sort()).toEqual([...served].sort())
    expect(served).toContain('GET /v1/jobs/{jobId}/result')
    expect(served).toContain('GET /healthz')
    expect(served).toContain('GET /openapi.json')
  })

  it('documents every path parameter of every route, required, with words and an example', () => {
    for (const { key, path, op } of operations(doc)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path')
      expect(inPath.map((p) => p.name).sort(), key).toEqual(names.sort())
      for (const p of inPath) {
        expect(p.required, `${key} ${p.name}`).toBe(true)
        expect(p.description, `${key} ${p.name}`).toMatch(/\w{3}/)
        expect(check(p.schema, p.example), `${key} ${p.name} example`).toMatchObject({ ok: true })
      }
    }
  })

  it("gives every parameter words, and examples the route's own validator accepts", () => {
    for (const [key, op] of Object.entries(OPERATIONS)) {
      const [method, routerPath] = key.split(' ') as [string, string]
      const params = doc.paths[openApiPath(routerPath)]![method.toLowerCase()]!.parameters ?? []
      for (const p of params) expect(p.description, `${key} ${p.name}`).toMatch(/\w{3}/)
      // Nothing described that the route does not take.
      for (const name of Object.keys(op.params ?? {})) expect(params.map((p) => p.name), key).toContain(name)
      const examples = (where: string) => Object.fromEntries(params.filter((p) => p.in === where && p.example !== undefined).map((p) => [p.name, p.example]))
      if (op.request?.params) expect(op.request.params.safeParse(examples('path')).success, key).toBe(true)
      if (op.request?.query) expect(op.request.query.safeParse(examples('query')).success, key).toBe(true)
    }
    // The examples are real: the bbox example is the README's sparse suburb.
    expect(mapFeaturesQuery.parse({ bbox: '12.985,55.585,13.015,55.615', fields: 'object_type' })).toEqual({ bbox: [12.985, 55.585, 13.015, 55.615], fields: ['object_type'] })
  })

  it('lists per route only codes of the catalogue, each under the status the catalogue gives it', () => {
    let listed = 0
    for (const { key, op } of operations(doc)) {
      for (const [status, res] of Object.entries(op.responses)) {
        const codes = res['x-problem-codes']
        if (!codes) continue
        const schema = res.content!['application/problem+json']!.schema as { allOf: [unknown, { properties: { code: { enum: string[] }; status: { const: number } } }] }
        expect(schema.allOf[1].properties.code.enum, key).toEqual(codes)
        expect(schema.allOf[1].properties.status.const).toBe(Number(status))
        for (const code of codes) {
          expect(PROBLEM_CODES, `${key} ${code}`).toContain(code)
          expect(problem(code, '').status, `${key} ${code}`).toBe(Number(status))
          listed++
        }
        if (status === '503' || status === '409') expect(Object.keys(res.headers ?? {}), `${key} ${status}`).toContain('Retry-After')
      }
    }
    expect(listed).toBeGreaterThan(60)
    // Every route with problems is a documented one.
    for (const key of Object.keys(ROUTE_PROBLEMS)) expect(Object.keys(OPERATIONS)).toContain(key)
  })

  it('lists for its routes every code a Worker writes by name (a new one without docs fails here)', () => {
    // Each Worker's routes, by the binding the gateway forwards them through.
    const BINDING_OF: Record<string, string> = { 'map-features': 'MAP_FEATURES', 'sequence-detections': 'SEQUENCE_DETECTIONS', 'detection-geometry': 'DETECTION_GEOMETRY', 'feature-images': 'FEATURE_IMAGES', jobs: 'JOBS' }
    const documented = (routes: readonly { path: string; methods: readonly string[] }[]) =>
      new Set(routes.flatMap((r) => r.methods.flatMap((m) => [...(ROUTE_PROBLEMS[`${m} ${r.path}`] ?? []), ...gatewayProblems(r.path, true)])))
    let seen = 0
    for (const worker of [...Object.keys(BINDING_OF), 'gateway']) {
      const dir = new URL(`../../../${worker}/src/`, import.meta.url)
      const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.startsWith('docs'))
      const written = new Set(files.flatMap((f) => [...readFileSync(new URL(f, dir), 'utf8').matchAll(/\b(?:fail|problem)\(\s*'([a-z_]+)'/g)].map((m) => m[1]!)))
      // An unknown route (the apps' notFound, a job object's own fetch) belongs to no route.
      written.delete('route_not_found')
      const routes = worker === 'gateway' ? [...PUBLIC_ROUTES, { path: '/healthz', methods: ['GET'] }] : PUBLIC_ROUTES.filter((r) => r.binding === BINDING_OF[worker])
      const listed = documented(routes)
      for (const code of written) expect(listed.has(code as never), `${worker} writes ${code}`).toBe(true)
      seen += written.size
    }
    expect(seen).toBeGreaterThan(15)
  })

  it('names the problems the contract and the routes promise', () => {
    const codes = (path: string, method: string, status: number) => doc.paths[path]![method]!.responses[String(status)]?.['x-problem-codes'] ?? []
    expect(codes('/v1/map-features', 'get', 400)).toEqual(expect.arrayContaining(['invalid_parameter', 'invalid_bbox']))
    expect(codes('/v1/map-features', 'get', 422)).toEqual(expect.arrayContaining(['bbox_too_large', 'box_too_costly']))
    expect(codes('/v1/sequences/{sequenceId}/detections', 'get', 404)).toEqual(['not_found'])
    expect(codes('/v1/images/{imageId}/detections', 'get', 503)).toEqual(expect.arrayContaining(['upstream_unavailable', 'upstream_rate_limited']))
    expect(codes('/v1/decode', 'post', 422)).toEqual(expect.arrayContaining(['invalid_base64', 'corrupt_tile', 'empty_tile', 'too_many_points']))
    expect(codes('/v1/decode', 'post', 413)).toEqual(['payload_too_large'])
    expect(codes('/v1/decode', 'post', 400)).toEqual(['invalid_body'])
    expect(codes('/v1/jobs', 'post', 413)).toEqual(['payload_too_large'])
    expect(codes('/v1/jobs/{jobId}/result', 'get', 409)).toEqual(['job_not_ready'])
    expect(codes('/v1/jobs/{jobId}', 'get', 404)).toEqual(['not_found'])
    // The gateway's own: keys and limits under /v1, the deadline on forwarded routes, long URLs everywhere.
    expect(codes('/v1/map-features', 'get', 401)).toEqual(expect.arrayContaining(['invalid_token', 'api_key_required', 'invalid_api_key']))
    expect(codes('/v1/decode', 'post', 429)).toEqual(['rate_limited'])
    expect(Object.keys(doc.paths['/v1/decode']!.post!.responses['429']!.headers ?? {})).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']))
    expect(codes('/v1/sequences/{sequenceId}/detections', 'get', 503)).toEqual(expect.arrayContaining(['deadline_exceeded', 'service_unavailable', 'upstream_unavailable']))
    expect(codes('/healthz', 'get', 414)).toEqual(['uri_too_long'])
    expect(codes('/healthz', 'get', 429)).toEqual([])
    expect(codes('/openapi.json', 'get', 503)).toEqual([])
    // The gateway refuses another method on every public route, naming the allowed ones.
    for (const r of PUBLIC_ROUTES) {
      for (const m of r.methods) {
        const res = doc.paths[openApiPath(r.path)]![m.toLowerCase()]!.responses['405']!
        expect(res['x-problem-codes']).toEqual(['method_not_allowed'])
        expect(Object.keys(res.headers ?? {})).toContain('Allow')
      }
    }
  })

  it('describes the problems the Workers really write', () => {
    const bad = mapFeaturesQuery.safeParse({ bbox: '1,2,3' })
    if (bad.success) throw new Error('a 3-number bbox parsed')
    const invalidBbox = validationProblem(mapFeaturesQuery, bad.error.issues, { noun: 'Query parameter', code: 'invalid_parameter' })
    expect(invalidBbox.code).toBe('invalid_bbox')
    expect(check(responseSchema('/v1/map-features', 'get', 400), invalidBbox)).toMatchObject({ ok: true })
    // The same problem under another status, or an invalid_bbox claiming to be a 422, does not fit.
    expect(check(responseSchema('/v1/map-features', 'get', 422), invalidBbox).ok).toBe(false)
    expect(check(responseSchema('/v1/map-features', 'get', 400), { ...invalidBbox, code: 'box_too_costly' }).ok).toBe(false)

    const costly = boxTooCostly({ limit: 200, needed: 360, asked: 0, jobLimit: 2000 })
    expect(check(responseSchema('/v1/map-features', 'get', 422), costly)).toMatchObject({ ok: true })
    const jobParams = jobRequest('map-features', { bbox: '1,2,3' })
    if (jobParams.ok) throw new Error('a 3-number bbox made a job')
    expect(check(responseSchema('/v1/jobs', 'post', 400), jobParams.problem)).toMatchObject({ ok: true })
    const throttled = upstreamProblem(new UpstreamError('rate_limited', 'slow down', { status: 429, retryAfterSeconds: 7 }), 'server')
    expect(throttled.headers['retry-after']).toBe('7')
    expect(check(responseSchema('/v1/images/{imageId}/detections', 'get', 503), throttled.problem)).toMatchObject({ ok: true })
    const badToken = upstreamProblem(new UpstreamError('unauthorized', 'no', { status: 401 }), 'client')
    expect(check(responseSchema('/v1/map-features/{mapFeatureId}/images', 'get', 401), badToken.problem)).toMatchObject({ ok: true })
  })

  it("takes the README's decode body, and refuses what POST /v1/decode refuses", () => {
    const schema = requestSchema('/v1/decode')
    expect(check(schema, { geometry: 'GiB4AgoGbXB5LW9yKIAgEhEYAwgBIgsJ9CuaJRIcAAAMDw==', width: 4032, height: 3024 })).toMatchObject({ ok: true })
    for (const body of [{ geometry: 'GiB4', width: '4032', height: 3024 }, { geometry: '', width: 1, height: 1 }, { geometry: 'GiB4', width: 0, height: 1 }, { geometry: 'GiB4', width: 1.5, height: 1 }, { width: 1, height: 1 }]) {
      expect(check(schema, body).ok, JSON.stringify(body)).toBe(false)
    }
  })

  it('describes the job bodies POST /v1/jobs takes, the README’s and the contract’s among them, and refuses what it refuses', () => {
    const schema = requestSchema('/v1/jobs')
    const taken = [
      { task: 'sequence-detections', params: { sequence_id: 'NXXERQlJzUT20ZJZEHg4bf', fields: 'id,value' } },
      { task: 'map-features', params: { bbox: '-79.54,8.94,-79.52,8.96', fields: 'object_type' } },
      { task: 'map-features', params: { bbox: '-79.54,8.94,-79.52,8.96', object_values: 'regulatory--stop--g1' }, callback_url: 'https://example.org/hook' },
      { task: 'sequence-detections', params: { sequence_id: 'kx7r2uYeFwT6XCfvqh30VZ', fields: 'id,value', pixels: true } },
      { task: 'image-detections', params: { image_id: 361705751724011 } },
      { task: 'feature-images', params: { map_feature_id: '897467189777867' } },
    ]
    for (const body of taken) {
      expect(check(schema, body), JSON.stringify(body)).toMatchObject({ ok: true })
      expect(jobRequest(body.task as never, body.params).ok, JSON.stringify(body)).toBe(true)
    }
    // What the document can tell from the shape alone: no unknown task, member or param, nothing required missing.
    const refused = [
      { task: 'everything', params: {} },
      { task: 'map-features', params: { bbox: '1,2,3,4', color: 'red' } },
      { task: 'map-features', params: { fields: 'object_type' } },
      { task: 'image-detections', params: { image_id: 'abc' } },
      { task: 'image-detections', params: { image_id: ['1'] } },
      { task: 'feature-images', params: { map_feature_id: '1' }, priority: 'high' },
      { params: { image_id: '1' } },
    ]
    for (const body of refused) {
      expect(check(schema, body).ok, JSON.stringify(body)).toBe(false)
      const task = (body as { task?: string }).task
      if (task && (JOB_TASKS as readonly string[]).includes(task) && !('priority' in body)) expect(jobRequest(task as never, body.params).ok, JSON.stringify(body)).toBe(false)
    }
  })

  it("gives each job task the params the jobs Worker takes, with the synchronous endpoint's schemas", () => {
    for (const task of JOB_TASKS) expect(Object.keys(JOB_PARAMS[task].shape).sort(), task).toEqual(jobParamNames(task).sort())
    expect(JOB_PARAMS['map-features']).toBe(mapFeaturesQuery)
  })

  it('describes job ids as the jobs Worker recognises them', () => {
    const ids = [...Array.from({ length: 50 }, newJobId), '0123456789abcdef0123456789abcdef', '0123456789ABCDEF0123456789ABCDEF', 'a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}g`, '', 'nope']
    for (const id of ids) expect(jobIdParam.safeParse(id).success, id).toBe(isJobId(id))
    expect(ids.filter((id) => isJobId(id))).toHaveLength(51)
  })

  it('describes the answers as the contract writes them', () => {
    // docs/api-v1.md's examples, with their "…" made concrete.
    const feature = { type: 'Feature', id: '241757724395351', geometry: { type: 'Point', coordinates: [-79.53, 8.95] }, properties: { id: '241757724395351', object_value: 'regulatory--stop--g1' } }
    expect(check(responseSchema('/v1/map-features', 'get', 200, 'application/geo+json'), { type: 'FeatureCollection', features: [feature] })).toMatchObject({ ok: true })
    expect(check(responseSchema('/v1/map-features', 'get', 200, 'application/geo+json'), { type: 'FeatureCollection', features: [{ ...feature, geometry: { type: 'Point' } }] }).ok).toBe(false)
    const image = { id: '315219450124680', width: 4032, height: 3024, thumb_original_url: 'https://example.org/a.jpg' }
    const polygon = { type: 'Polygon', coordinates: [[[412.5, 96], [500, 96], [500, 200], [412.5, 96]]] }
    const detection = { id: '1', value: 'object--vehicle--car', geometry: 'GjV4', pixel_geometry: polygon }
    expect(check(responseSchema('/v1/images/{imageId}/detections', 'get', 200, 'application/json'), { image, detections: [detection] })).toMatchObject({ ok: true })
    expect(check(responseSchema('/v1/images/{imageId}/detections', 'get', 200, 'application/json'), { image, detections: [{ ...detection, pixel_geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1]]] } }] }).ok).toBe(false)
    expect(check(responseSchema('/v1/sequences/{sequenceId}/detections', 'get', 200, 'application/json'), { sequence_id: 'kx7r2uYeFwT6XCfvqh30VZ', image_ids: ['315219450124680'], detections: { '315219450124680': [{ id: '1', value: 'object--vehicle--car', geometry: 'GjV4' }] } })).toMatchObject({ ok: true })
    const status = { id: '0123456789abcdef0123456789abcdef', task: 'map-features', state: 'failed', progress: { done: 1, total: 1 }, result_url: 'https://api.example/v1/jobs/0123456789abcdef0123456789abcdef/result', problem: problem('upstream_unavailable', 'x'), created_at: '2026-12-01T17:00:00.000Z', updated_at: '2026-12-01T17:00:01.000Z', expires_at: '2026-12-02T17:00:00.000Z' }
    expect(check(responseSchema('/v1/jobs/{jobId}', 'get', 200, 'application/json'), status)).toMatchObject({ ok: true })
    expect(check(responseSchema('/v1/jobs/{jobId}', 'get', 200, 'application/json'), { ...status, state: 'lost' }).ok).toBe(false)
  })
})
