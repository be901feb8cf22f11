/**
 * @module
 * Request validation: zod 4 schemas for the public parameters, and `validate()` which turns any
 * failure into a 400 problem naming the parameter and the reason.
 */

import { zValidator } from '@hono/zod-validator'
import type { Context, ValidationTargets } from 'hono'
import { z } from 'zod'
import { problem, problemResponse, type Problem, type ProblemCode } from '../problem/problem'
import { BBOX_EDGES, bboxError } from '../tiling/bbox'
import type { Bbox } from '../tiling/types'

/** Problem code a schema's failures report, when not the target's default. */
const problemCodes = z.registry<{ problemCode: ProblemCode }>()

/** A string parameter; its error says "is required" when absent, "only once" when repeated. */
const param = () =>
  z.string({
    error: (iss) => (iss.input === undefined ? 'is required' : Array.isArray(iss.input) ? 'must be given only once' : 'must be a string'),
  })

/** Upstream numeric id (image or map feature): 1–20 digits. */
const NUMERIC_ID = /^[0-9]{1,20}$/
/** Upstream sequence key: 1–64 of `[A-Za-z0-9_-]`. The one rule, also for what a sweep object is sent. */
export const SEQUENCE_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Upstream numeric id (image or map feature): 1–20 digits.
 *
 * @example
 * z.object({ imageId }).parse({ imageId: '315219450124680' })
 */
export const imageId = param().regex(NUMERIC_ID, 'must be a numeric id of 1 to 20 digits')
/** Same shape as {@link imageId}. */
export const mapFeatureId = param().regex(NUMERIC_ID, 'must be a numeric id of 1 to 20 digits')
/** Upstream sequence key ({@link SEQUENCE_ID}). */
export const sequenceId = param().regex(SEQUENCE_ID, 'must be 1 to 64 letters, digits, _ or -')

/** Splits a comma list, trimming and dropping empty items. */
function commaList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
}

/**
 * `fields=a,b`: each must be in `allowed`; duplicates dropped, order kept; absent or empty →
 * `defaults`. Answers a `string[]`.
 *
 * @example
 * const fields = fieldsParam(['id', 'value', 'geometry'], ['id', 'value'])
 * fields.parse('geometry,id,geometry') // ['geometry', 'id']
 * fields.parse(undefined)              // ['id', 'value']
 */
export function fieldsParam(allowed: readonly string[], defaults: readonly string[]) {
  const known = new Set(allowed)
  return param()
    .optional()
    .transform((s, ctx): string[] => {
      const list = s === undefined ? [] : commaList(s)
      if (list.length === 0) return [...defaults]
      const unknown = list.filter((f) => !known.has(f))
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `'${f.slice(0, 40)}'`).join(', ')}; allowed: ${allowed.join(', ')}` })
        return z.NEVER
      }
      return [...new Set(list)]
    })
}

const OBJECT_VALUE = /^[a-z0-9_]+(?:-{1,2}[a-z0-9_]+)*$/
export const MAX_OBJECT_VALUES = 50

/**
 * `object_values=a--b--g1,c--d`: Mapillary value names (lowercase, digits, `_`, `-` and `--`
 * separators), at most 50, deduplicated. Absent or empty → undefined (no filter).
 *
 * @example
 * objectValuesParam.parse('regulatory--stop--g1,object--vehicle--car') // ['regulatory--stop--g1', 'object--vehicle--car']
 */
export const objectValuesParam = param()
  .optional()
  .transform((s, ctx): string[] | undefined => {
    const list = s === undefined ? [] : [...new Set(commaList(s))]
    if (list.length === 0) return undefined
    if (list.length > MAX_OBJECT_VALUES) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_OBJECT_VALUES} values, got ${list.length}` })
      return z.NEVER
    }
    const bad = list.find((v) => v.length > 128 || !OBJECT_VALUE.test(v))
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `'${bad.slice(0, 60)}' is not an object value (like regulatory--stop--g1)` })
      return z.NEVER
    }
    return list
  })

/**
 * `true`/`1` or `false`/`0`; absent → false.
 *
 * @example
 * booleanParam.parse('1') // true
 */
export const booleanParam = param()
  .optional()
  .transform((s, ctx): boolean => {
    if (s === undefined || s === 'false' || s === '0') return false
    if (s === 'true' || s === '1') return true
    ctx.addIssue({ code: 'custom', message: 'must be true, false, 1 or 0' })
    return z.NEVER
  })

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * `bbox=w,s,e,n`: four decimal numbers, then the one box rule of the planner ({@link bboxError}:
 * longitudes in [-180, 180], latitudes within ±85.0511, south ≤ north; west > east allowed, the
 * antimeridian). Answers a {@link Bbox}. Failures report `invalid_bbox`.
 *
 * @example
 * bboxParam.parse('-79.54,8.94,-79.52,8.96') // [-79.54, 8.94, -79.52, 8.96]
 * bboxParam.parse('179.9,-1,-179.9,1')       // crosses the antimeridian: fine
 */
export const bboxParam = param().transform((s, ctx): Bbox => {
  const issue = (message: string) => {
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  }
  const parts = s.split(',').map((x) => x.trim())
  if (parts.length !== 4) return issue(`must be 4 comma-separated numbers west,south,east,north; got ${parts.length} item${parts.length === 1 ? '' : 's'}`)
  const nums = parts.map(Number)
  const bad = parts.findIndex((p, i) => !NUMBER.test(p) || !Number.isFinite(nums[i]))
  if (bad >= 0) return issue(`${BBOX_EDGES[bad]} '${parts[bad]!.slice(0, 30)}' is not a finite number`)
  const box: Bbox = [nums[0]!, nums[1]!, nums[2]!, nums[3]!]
  const why = bboxError(box)
  return why === null ? box : issue(why)
})
problemCodes.add(bboxParam, { problemCode: 'invalid_bbox' })

export const MAX_GEOMETRY_CHARS = 1024 * 1024
const dimension = z
  .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') })
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(100_000, 'must be at most 100000')

/**
 * `POST /v1/decode` body: `{geometry: base64 MVT (≤ 1 MiB), width, height: integers 1..100000}`.
 * Extra members are ignored. Failures report `invalid_body`.
 *
 * @example
 * decodeBody.parse({ geometry: 'GjV4…', width: 4032, height: 3024 })
 */
export const decodeBody = z.object(
  {
    geometry: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string (base64)') })
      .min(1, 'must not be empty')
      .max(MAX_GEOMETRY_CHARS, `must be at most ${MAX_GEOMETRY_CHARS} characters`),
    width: dimension,
    height: dimension,
  },
  { error: 'must be a JSON object {"geometry", "width", "height"}' },
)
problemCodes.add(decodeBody, { problemCode: 'invalid_body' })

export interface ValidateOptions {
  /** Problem code for every failure, overriding the schema's and the target's default. */
  code?: ProblemCode
}

const TARGET_NOUN: Partial<Record<keyof ValidationTargets, string>> = {
  query: 'Query parameter',
  param: 'Path parameter',
  json: 'Body member',
  header: 'Header',
  form: 'Form field',
}

/**
 * Hono middleware validating `target` with `schema` (via @hono/zod-validator). A failure answers
 * 400 problem+json: `invalid_body` for JSON bodies, `invalid_bbox` for {@link bboxParam}, else
 * `invalid_parameter`, unless `opts.code` says otherwise. The detail names the parameter and why;
 * `invalid_params` lists every issue. Unknown query parameters are ignored.
 *
 * @example
 * app.get('/v1/map-features', validate('query', z.object({ bbox: bboxParam })), (c) => {
 *   const { bbox } = c.req.valid('query') // [w, s, e, n]
 * })
 */
export function validate<Target extends keyof ValidationTargets, T extends z.ZodType>(target: Target, schema: T, opts: ValidateOptions = {}) {
  const mw = zValidator(target, schema, (result) => {
    if (result.success) return
    const noun = TARGET_NOUN[target] ?? 'Input'
    return problemResponse(
      validationProblem(schema, result.error.issues, {
        noun,
        whole: target === 'json' ? 'The request body' : noun,
        code: opts.code ?? (target === 'json' ? 'invalid_body' : 'invalid_parameter'),
        override: opts.code !== undefined,
      }),
    )
  })
  if (target !== 'json') return mw
  // Hono reads JSON bodies itself: a wrong Content-Type or malformed JSON never reaches the hook.
  const json: typeof mw = async (c: Context, next) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
      return problemResponse(problem(opts.code ?? 'invalid_body', 'The request body must be JSON, sent with Content-Type: application/json.'))
    }
    let downstream = false
    try {
      return await mw(c, async () => {
        downstream = true
        await next()
      })
    } catch (e) {
      if (!downstream && e instanceof Error && /malformed json/i.test(e.message)) {
        return problemResponse(problem(opts.code ?? 'invalid_body', 'The request body is not valid JSON.'))
      }
      throw e
    }
  }
  return json
}

export interface ValidationProblemOptions {
  /** How a member is named in the detail, e.g. `Query parameter` → "Query parameter 'bbox' …". */
  noun: string
  /** How the whole input is named when an issue has no path, e.g. `The request body`. */
  whole?: string
  /** The code when the failing schema registered none (e.g. `invalid_bbox` for {@link bboxParam}). */
  code: ProblemCode
  /** Use `code` even where a schema registered another. */
  override?: boolean
}

/**
 * The 400 problem {@link validate} answers for failed `issues` of `schema`: the detail names the
 * first member and why, `invalid_params` lists every issue, the code is the one the failing
 * member's schema registered (e.g. `invalid_bbox`), else `opts.code`.
 *
 * @example
 * const r = z.object({ bbox: bboxParam }).safeParse({ bbox: '1,2' })
 * if (!r.success) validationProblem(schema, r.error.issues, { noun: 'Param', code: 'invalid_parameter' }) // code invalid_bbox
 */
export function validationProblem(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], opts: ValidationProblemOptions): Problem {
  const named = issues.map((iss) => ({
    name: iss.path.map(String).join('.'),
    reason: iss.message,
    code: codeFor(schema, iss.path),
  }))
  const first = named[0]
  const code = opts.override ? opts.code : (first?.code ?? opts.code)
  const detail = first ? (first.name ? `${opts.noun} '${first.name}' ${first.reason}.` : `${opts.whole ?? opts.noun} ${first.reason}.`) : 'The request is not valid.'
  return problem(code, detail, { invalid_params: named.map(({ name, reason }) => ({ name, reason })) })
}

/** The code registered for the schema at `path` (or for the whole schema), if any. */
function codeFor(schema: z.ZodType, path: readonly PropertyKey[]): ProblemCode | undefined {
  const top = path[0]
  const shape = (unwrap(schema) as { shape?: Record<string, z.ZodType> }).shape
  const field = typeof top === 'string' && shape ? shape[top] : undefined
  return (field && registered(field)) ?? registered(schema)
}

function registered(schema: z.ZodType): ProblemCode | undefined {
  for (let s: z.ZodType | undefined = schema; s; s = inner(s)) {
    const code = problemCodes.get(s)?.problemCode
    if (code) return code
  }
  return undefined
}

/** Looks through optional/default/nullable wrappers. */
function inner(s: z.ZodType): z.ZodType | undefined {
  const def = s._zod.def as { innerType?: z.ZodType }
  return def.innerType
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s
  for (let next = inner(cur); next; next = inner(cur)) cur = next
  return cur
}
