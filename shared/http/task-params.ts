/**
 * @module
 * The public parameters of each task, one schema per synchronous endpoint: the task Workers
 * validate their requests with them, and a job's `params` (the same names and string values, see
 * docs/api-v1.md "Jobs") are validated with the very same schemas and turned into that endpoint's
 * path and query ({@link jobRequest}).
 */
import { z } from 'zod'
import { problem, type Problem } from '../problem/problem'
import { bboxParam, booleanParam, fieldsParam, imageId, mapFeatureId, objectValuesParam, sequenceId, validationProblem } from './validation'

/** Extra upstream fields a map feature's `properties` may carry (`id` and `object_value` always). */
export const MAP_FEATURE_FIELDS = ['object_type', 'first_seen_at', 'last_seen_at', 'aligned_direction'] as const
/** Detection fields a sequence's detections may carry. */
export const DETECTION_FIELDS = ['id', 'value', 'geometry', 'created_at', 'image'] as const
export const DEFAULT_DETECTION_FIELDS = ['id', 'value', 'geometry'] as const

/** The answer forms of `GET /v1/map-features`: one GeoJSON FeatureCollection, or RFC 8142 records streamed. */
export const MAP_FEATURES_FORMATS = ['geojson', 'geojsonseq'] as const
export type MapFeaturesFormat = (typeof MAP_FEATURES_FORMATS)[number]
/** RFC 8142's media type: each record RS (0x1E), one GeoJSON text, LF. */
export const GEOJSON_SEQ = 'application/geo+json-seq'

/** `GET /v1/map-features` query. */
export const mapFeaturesQuery = z.object({
  bbox: bboxParam,
  object_values: objectValuesParam.optional(),
  fields: fieldsParam(MAP_FEATURE_FIELDS, []),
  // Absent: the Accept header decides (answerFormat), else geojson.
  format: z.enum(MAP_FEATURES_FORMATS, { error: (iss) => (Array.isArray(iss.input) ? 'must be given only once' : `must be ${MAP_FEATURES_FORMATS.join(' or ')}`) }).optional(),
})

/**
 * Which form a map-features request asked for: `format` wins; without it, an `Accept` naming
 * `application/geo+json-seq` (q above 0) asks for the stream; anything else is GeoJSON. The Worker
 * and the gateway (which must not buffer a stream for an ETag) decide with this one function.
 * @example answerFormat(undefined, 'application/geo+json-seq') // 'geojsonseq'
 * @example answerFormat('geojson', 'application/geo+json-seq') // 'geojson'
 */
export function answerFormat(format: string | undefined, accept: string | null | undefined): MapFeaturesFormat {
  if (format === 'geojson' || format === 'geojsonseq') return format
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase())
    if (type !== GEOJSON_SEQ) continue
    const q = params.find((p) => p.startsWith('q='))
    if (q === undefined || Number(q.slice(2)) > 0) return 'geojsonseq'
  }
  return 'geojson'
}

/** `GET /v1/sequences/{sequence_id}/detections` path and query. */
export const sequenceDetectionsPath = z.object({ sequenceId })
export const sequenceDetectionsQuery = z.object({ fields: fieldsParam(DETECTION_FIELDS, DEFAULT_DETECTION_FIELDS), pixels: booleanParam })

/** `GET /v1/images/{image_id}/detections` path. */
export const imageDetectionsPath = z.object({ imageId })
/** `GET /v1/map-features/{map_feature_id}/images` (and `/detections`) path. */
export const mapFeaturePath = z.object({ mapFeatureId })

export const JOB_TASKS = ['map-features', 'sequence-detections', 'image-detections', 'feature-images'] as const
export type JobTask = (typeof JOB_TASKS)[number]

interface TaskParams {
  /** Every param by name, as the synchronous endpoint validates it. */
  schema: z.ZodObject
  /** The synchronous path and query for valid params (string values). */
  path(p: Readonly<Record<string, string>>): string
}

const seg = encodeURIComponent
const withQuery = (path: string, p: Readonly<Record<string, string>>, names: readonly string[]) => {
  const q = new URLSearchParams(names.flatMap((n) => (p[n] === undefined ? [] : [[n, p[n]!] as [string, string]])))
  const text = q.toString()
  return text ? `${path}?${text}` : path
}

const TASKS: Record<JobTask, TaskParams> = {
  'map-features': {
    schema: mapFeaturesQuery,
    path: (p) => withQuery('/v1/map-features', p, ['bbox', 'object_values', 'fields']),
  },
  'sequence-detections': {
    schema: z.object({ sequence_id: sequenceId, ...sequenceDetectionsQuery.shape }),
    path: (p) => withQuery(`/v1/sequences/${seg(p.sequence_id!)}/detections`, p, ['fields', 'pixels']),
  },
  'image-detections': {
    schema: z.object({ image_id: imageId }),
    path: (p) => `/v1/images/${seg(p.image_id!)}/detections`,
  },
  'feature-images': {
    schema: z.object({ map_feature_id: mapFeatureId }),
    path: (p) => `/v1/map-features/${seg(p.map_feature_id!)}/images`,
  },
}

export function isJobTask(task: unknown): task is JobTask {
  return typeof task === 'string' && (JOB_TASKS as readonly string[]).includes(task)
}

/** The param names a task takes. */
export function jobParamNames(task: JobTask): string[] {
  return Object.keys(TASKS[task].schema.shape)
}

export type JobRequest = { ok: true; path: string } | { ok: false; problem: Problem }

/**
 * The synchronous path (and query) a job's `params` stand for, or the 400 problem the synchronous
 * endpoint would answer (plus: unknown names, values that are neither strings, numbers nor
 * booleans, integers too large to be exact). Numbers and booleans stand for their text.
 *
 * @example
 * jobRequest('map-features', { bbox: '-79.54,8.94,-79.52,8.96', fields: 'object_type' })
 * // { ok: true, path: '/v1/map-features?bbox=-79.54%2C8.94%2C-79.52%2C8.96&fields=object_type' }
 * jobRequest('image-detections', { image_id: 361705751724011 })
 * // { ok: true, path: '/v1/images/361705751724011/detections' }
 */
export function jobRequest(task: JobTask, params: unknown): JobRequest {
  const spec = TASKS[task]
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, problem: problem('invalid_body', `Body member 'params' must be an object of the ${task} task's parameters (${jobParamNames(task).join(', ')}).`) }
  }
  const names = jobParamNames(task)
  const strings: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    if (!names.includes(name)) {
      return { ok: false, problem: problem('invalid_parameter', `Param '${name.slice(0, 40)}' is not a parameter of the ${task} task; it takes ${names.join(', ')}.`, { invalid_params: [{ name: name.slice(0, 40), reason: 'unknown parameter' }] }) }
    }
    const text = paramText(value)
    if (!text.ok) return { ok: false, problem: problem('invalid_parameter', `Param '${name}' ${text.reason}.`, { invalid_params: [{ name, reason: text.reason }] }) }
    strings[name] = text.text
  }
  const parsed = spec.schema.safeParse(strings)
  if (!parsed.success) return { ok: false, problem: validationProblem(spec.schema, parsed.error.issues, { noun: 'Param', code: 'invalid_parameter' }) }
  // A job's result is stored and served whole: GeoJSON. The stream is the synchronous route's alone.
  if (task === 'map-features' && strings.format === 'geojsonseq') {
    const reason = 'must be geojson for a job: its result is one GeoJSON FeatureCollection; stream a box with GET /v1/map-features?format=geojsonseq'
    return { ok: false, problem: problem('invalid_parameter', `Param 'format' ${reason}.`, { invalid_params: [{ name: 'format', reason }] }) }
  }
  return { ok: true, path: spec.path(strings) }
}

/** A param value's text: strings as they are, numbers and booleans as JSON writes them. */
function paramText(value: unknown): { ok: true; text: string } | { ok: false; reason: string } {
  if (typeof value === 'string') return { ok: true, text: value }
  if (typeof value === 'boolean') return { ok: true, text: String(value) }
  if (typeof value === 'number') {
    // JSON numbers past 2^53 lost digits before we saw them: an id like that is another id.
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return { ok: false, reason: 'is an integer too large to be exact; send it as a string' }
    if (!Number.isFinite(value)) return { ok: false, reason: 'must be a finite number' }
    return { ok: true, text: String(value) }
  }
  return { ok: false, reason: 'must be a string, a number or a boolean' }
}
