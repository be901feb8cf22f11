/**
 * @module
 * Problem details in the OpenAPI document: the one problem schema, every code of the catalogue
 * (shared/problem/problem.ts, which gives each its status and title), and which codes each public
 * route can answer, read from the routes' code.
 */
import { z } from 'zod'
import { problem, type ProblemCode } from '../../../../shared/problem/problem'

// Every code, once: `satisfies` fails to compile when the catalogue gains or loses one, so a new
// code cannot go undocumented.
const CODES = {
  invalid_parameter: true,
  invalid_bbox: true,
  bbox_too_large: true,
  box_too_costly: true,
  invalid_body: true,
  invalid_base64: true,
  corrupt_tile: true,
  empty_tile: true,
  too_many_points: true,
  not_found: true,
  route_not_found: true,
  method_not_allowed: true,
  payload_too_large: true,
  job_not_ready: true,
  job_interrupted: true,
  invalid_token: true,
  upstream_rate_limited: true,
  upstream_unavailable: true,
  upstream_error: true,
  upstream_auth: true,
  incomplete_result: true,
  subrequest_budget_exceeded: true,
  internal_error: true,
  api_key_required: true,
  invalid_api_key: true,
  rate_limited: true,
  uri_too_long: true,
  deadline_exceeded: true,
  service_unavailable: true,
  signature_missing: true,
  signature_malformed: true,
  signature_mismatch: true,
  signature_expired: true,
  signature_replayed: true,
  webhooks_disabled: true,
  invalid_callback_url: true,
  no_callback_url: true,
} as const satisfies Record<ProblemCode, true>

/**
 * Every problem code of the catalogue.
 * @example PROBLEM_CODES.includes('invalid_bbox') // true
 */
export const PROBLEM_CODES = Object.keys(CODES) as ProblemCode[]

/**
 * A code's status and title, as the catalogue gives them.
 * @example catalogueEntry('invalid_bbox') // { status: 400, title: 'Invalid bounding box' }
 */
export function catalogueEntry(code: ProblemCode): { status: number; title: string } {
  const { status, title } = problem(code, '')
  return { status, title }
}

/** `{name, reason}` of one failed parameter, as `validate()` lists them. */
const invalidParam = z.object({ name: z.string(), reason: z.string() })

/**
 * RFC 9457 problem details as every Worker writes them (`problem()`), with the extension members
 * some codes add. Other members may appear: a client ignores what it does not know.
 * @example problemSchema.safeParse(problem('not_found', 'No such image.')).success // true
 */
export const problemSchema = z
  .looseObject({
    type: z.string().meta({ description: 'URI naming the problem kind: https://mly-edge.dev/problems/<code with dashes>' }),
    title: z.string().meta({ description: "The code's title in the catalogue" }),
    status: z.number().int().min(400).max(599).meta({ description: 'Equals the HTTP status' }),
    detail: z.string().meta({ description: 'What went wrong this time, for a human (echoed input is cut and MLY| tokens redacted)' }),
    code: z.enum(PROBLEM_CODES as [ProblemCode, ...ProblemCode[]]).meta({ description: 'Machine-readable reason' }),
    invalid_params: z.array(invalidParam).optional().meta({ description: '400: every parameter that failed, and why' }),
    limit: z.number().optional().meta({ description: 'box_too_costly: upstream requests allowed per question' }),
    needed_at_least: z.number().optional().meta({ description: 'box_too_costly: upstream requests the box needs at least' }),
    job_limit: z.number().optional().meta({ description: 'box_too_costly: the larger limit of a job, when a job could answer' }),
    limit_square_degrees: z.number().optional().meta({ description: 'bbox_too_large: the largest area served' }),
    limit_bytes: z.number().optional().meta({ description: 'payload_too_large: the largest body accepted' }),
    retry_after: z.number().optional().meta({ description: '503: seconds to wait, as in Retry-After' }),
    upstream_status: z.number().optional().meta({ description: 'upstream_*: the HTTP status the upstream answered' }),
    state: z.string().optional().meta({ description: 'job_not_ready: the job state' }),
    reason: z.string().optional().meta({ description: 'invalid_callback_url: why the URL is refused' }),
    echo_truncated: z.boolean().optional().meta({ description: 'Some echoed input was cut to bound the answer' }),
    request_id: z.string().optional().meta({ description: 'The X-Request-Id of the answer, to quote when asking about it' }),
    deadline_seconds: z.number().optional().meta({ description: 'deadline_exceeded: the deadline that passed' }),
    job: z.string().optional().meta({ description: 'deadline_exceeded: the job that goes on with the question' }),
    status_url: z.string().optional().meta({ description: "deadline_exceeded: that job's status URL (also in Location)" }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' })

// Groups of codes a route can answer, by where they come from.
/** What any upstream call may end with (shared/upstream/to-problem.ts, request-client.ts). */
const UPSTREAM: readonly ProblemCode[] = ['invalid_token', 'upstream_auth', 'upstream_error', 'upstream_unavailable', 'upstream_rate_limited']
/** What a job-engine object adds: its slice budget, and a client token lost on eviction. */
const ENGINE: readonly ProblemCode[] = ['subrequest_budget_exceeded', 'job_interrupted']
/** What the task Workers' answers may end with once a job runs them (POST already validated). */
const TASK_FAILURES: readonly ProblemCode[] = ['not_found', 'box_too_costly', 'incomplete_result', ...UPSTREAM, ...ENGINE]

/**
 * Codes each public route (router path and method) can answer of its own, read from the routes:
 * the task Workers' `validate()` and `fail()` calls, the engine tasks' `answer`/`failure`, the jobs
 * Worker. The gateway's, which depend only on where a route is, are {@link gatewayProblems}.
 * @example ROUTE_PROBLEMS['GET /v1/jobs/:jobId'] // ['not_found']
 */
export const ROUTE_PROBLEMS: Readonly<Record<string, readonly ProblemCode[]>> = {
  'GET /v1/sequences/:sequenceId/detections': ['invalid_parameter', 'not_found', ...UPSTREAM, ...ENGINE],
  'GET /v1/map-features': ['invalid_parameter', 'invalid_bbox', 'bbox_too_large', 'box_too_costly', 'incomplete_result', ...UPSTREAM, ...ENGINE],
  'GET /v1/map-features/:mapFeatureId/detections': ['invalid_parameter', 'not_found', ...UPSTREAM, ...ENGINE],
  'GET /v1/map-features/:mapFeatureId/images': ['invalid_parameter', 'not_found', ...UPSTREAM, ...ENGINE],
  // Two requests in the Worker's own invocation: no engine object, no budget to run out of.
  'GET /v1/images/:imageId/detections': ['invalid_parameter', 'not_found', ...UPSTREAM],
  'GET /v1/images/:imageId/detections.svg': ['invalid_parameter', 'not_found', ...UPSTREAM],
  // workers/embed: ids and boxes validated as the API does; the rest happens in the browser.
  'GET /embed/images/:imageId': ['invalid_parameter'],
  'GET /embed/map-features': ['invalid_parameter', 'invalid_bbox'],
  'GET /embed/vendor/:file': ['not_found'],
  // The body is read within MAX_DECODE_BODY_BYTES, the tile within MAX_DECODE_POINTS (decode-limits.ts).
  'POST /v1/decode': ['payload_too_large', 'invalid_body', 'invalid_base64', 'corrupt_tile', 'empty_tile', 'too_many_points'],
  // The task Worker's progress probe answers its own 400/422 at POST time (e.g. MAX_BBOX_AREA).
  'POST /v1/jobs': ['payload_too_large', 'invalid_body', 'invalid_parameter', 'invalid_bbox', 'bbox_too_large', 'invalid_callback_url'],
  'GET /v1/jobs/:jobId': ['not_found'],
  'POST /v1/jobs/:jobId/redeliver': ['not_found', 'job_not_ready', 'no_callback_url'],
  // workers/jobs/src/hooks.ts, then POST /v1/jobs's own checks.
  'POST /v1/hooks/:task': [
    'webhooks_disabled',
    'not_found',
    'payload_too_large',
    'signature_missing',
    'signature_malformed',
    'signature_mismatch',
    'signature_expired',
    'signature_replayed',
    'invalid_body',
    'invalid_parameter',
    'invalid_bbox',
    'bbox_too_large',
    'invalid_callback_url',
  ],
  // A failed job's result is its problem, with its status: whatever the task ended with.
  'GET /v1/jobs/:jobId/result': ['job_not_ready', ...TASK_FAILURES],
  'GET /v1/jobs/:jobId/events': ['not_found'],
}

/**
 * Codes the gateway itself may answer on `routerPath`: any route, a URL too long or a bug; under
 * `/v1`, API keys and rate limits; a forwarded (public) route, another method, a task Worker that
 * does not answer, or the request deadline.
 * @example gatewayProblems('/healthz', false) // ['uri_too_long', 'internal_error']
 */
export function gatewayProblems(routerPath: string, forwarded: boolean): ProblemCode[] {
  return [
    'uri_too_long',
    'internal_error',
    ...(routerPath.startsWith('/v1/') ? (['api_key_required', 'invalid_api_key', 'rate_limited'] as const) : []),
    ...(forwarded ? (['method_not_allowed', 'service_unavailable', 'deadline_exceeded'] as const) : []),
  ]
}

/**
 * Codes grouped by their catalogue status, statuses ascending.
 * @example byStatus(['not_found', 'invalid_bbox', 'invalid_parameter']) // [[400, ['invalid_bbox', 'invalid_parameter']], [404, ['not_found']]]
 */
export function byStatus(codes: readonly ProblemCode[]): [number, ProblemCode[]][] {
  const groups = new Map<number, ProblemCode[]>()
  for (const code of new Set(codes)) {
    const { status } = catalogueEntry(code)
    groups.set(status, [...(groups.get(status) ?? []), code])
  }
  return [...groups.entries()].sort(([a], [b]) => a - b)
}
