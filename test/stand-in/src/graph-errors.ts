/**
 * @module
 * Graph API style error answers, as graph.mapillary.com sends them:
 * `{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?, "fbtrace_id"}}`.
 * Pure: builds standard `Response`s.
 */
import { Rng } from './prng'

export interface GraphError {
  message: string
  type: 'OAuthException' | 'GraphMethodException' | 'MLYApiException'
  code: number
  error_subcode?: number
  is_transient?: boolean
  fbtrace_id: string
}

const traceRng = new Rng(0x5eed)

/** A trace id in the Graph API's style (23 alphanumerics), unique per isolate. */
export function fbtraceId(): string {
  return 'A' + traceRng.alnum(22)
}

/** The headers every Graph answer carries. */
export function graphHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'x-fb-trace-id': traceRng.alnum(11), ...extra }
}

/** A JSON answer with the Graph headers. */
export function graphJson(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: graphHeaders(extra) })
}

export function graphErrorResponse(status: number, error: Omit<GraphError, 'fbtrace_id'>, extra: Record<string, string> = {}): Response {
  return graphJson({ error: { ...error, fbtrace_id: fbtraceId() } }, status, extra)
}

const WWW_AUTH = (detail: string) => ({ 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${detail}"` })

/** No token at all (no `Authorization` header, no `access_token`). */
export function missingToken(): Response {
  const message = 'An active access token must be used to query information about the current user.'
  return graphErrorResponse(401, { message, type: 'OAuthException', code: 2500 }, WWW_AUTH(message))
}

/** A token that is not a Mapillary token (or not the configured one). */
export function invalidToken(): Response {
  const message = 'Invalid OAuth access token - Cannot parse access token'
  return graphErrorResponse(401, { message, type: 'OAuthException', code: 190 }, WWW_AUTH(message))
}

/** An id that names nothing (also non-numeric ids). Mapillary answers 400, code 100, subcode 33. */
export function unknownObject(id: string): Response {
  return graphErrorResponse(400, {
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
    type: 'GraphMethodException',
    code: 100,
    error_subcode: 33,
  })
}

/** A `fields` entry the node type does not have. */
export function nonexistingField(field: string, nodeType: string): Response {
  return graphErrorResponse(400, {
    message: `(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})`,
    type: 'OAuthException',
    code: 100,
  })
}

/** A missing or malformed parameter. */
export function invalidParameter(message: string): Response {
  return graphErrorResponse(400, { message: `(#100) ${message}`, type: 'OAuthException', code: 100 })
}

/** A path that is no Graph node or edge, e.g. `/123/nope`. */
export function unknownPath(path: string): Response {
  return graphErrorResponse(400, { message: `Unknown path components: ${path}`, type: 'OAuthException', code: 2500 })
}

/** Over the rate limit: 429, code 4, with `Retry-After`. */
export function rateLimited(retryAfterSeconds: number): Response {
  return graphErrorResponse(
    429,
    { message: 'Application request limit reached', type: 'OAuthException', code: 4, is_transient: true },
    { 'retry-after': String(retryAfterSeconds) },
  )
}

/**
 * The app's quota spent, as the real service answers it (HTTP 403, code 4, JOSM's recorded
 * fixtures), with a Retry-After when given.
 */
export function appLimitReached(retryAfterSeconds?: number): Response {
  return graphErrorResponse(
    403,
    { message: 'Application request limit reached', type: 'MLYApiException', code: 4, is_transient: true },
    retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {},
  )
}

/** A transient server failure (500, 502 or 503). */
export function serverError(status: 500 | 502 | 503 = 500): Response {
  const message =
    status === 500 ? 'An unexpected error has occurred. Please retry your request later.' : 'Service temporarily unavailable'
  return graphErrorResponse(status, { message, type: 'OAuthException', code: status === 500 ? 2 : 1, is_transient: true })
}

/**
 * A batch read asking more ids than the upstream takes, refused as a bad parameter (400, code 100).
 * @example (await tooManyIds(250, 200).json()).error.message // '(#100) Too many ids: 250 asked, at most 200 per request'
 */
export function tooManyIds(asked: number, max: number): Response {
  return invalidParameter(`Too many ids: ${asked} asked, at most ${max} per request`)
}

/**
 * A batch read too large for the upstream, refused as Graph does when a request asks for too much
 * data: HTTP 500, code 1, not transient (the same request fails again; a smaller one does not).
 */
export function tooMuchData(): Response {
  return graphErrorResponse(500, {
    message: "Please reduce the amount of data you're asking for, then retry your request",
    type: 'OAuthException',
    code: 1,
  })
}
