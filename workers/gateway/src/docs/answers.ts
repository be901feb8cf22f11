/**
 * @module
 * The JSON answers of docs/api-v1.md as zod schemas, for the OpenAPI document only: the Workers
 * write their answers as text and validate none of them, so these describe, they never run on a
 * request. Our own wrappers are strict (a member added without docs shows in the e2e check);
 * upstream records (detections) are open.
 */
import { z } from 'zod'
import { JOB_TASKS, MAP_FEATURE_FIELDS } from '../../../../shared/http/task-params'
import { problemSchema } from './problems'

const position = z.array(z.number()).min(2).max(3)
const ring = z.array(position).min(4).meta({ description: 'Closed: the first point repeated last' })

const point = z.strictObject({ type: z.literal('Point'), coordinates: position }).meta({ id: 'Point', description: 'GeoJSON Point, [longitude, latitude] in WGS84 degrees' })

/** `pixel_geometry`: image pixels, origin top-left, y down. */
const pixelGeometry = z
  .union([
    z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1) }),
    z.strictObject({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(ring).min(1)).min(2) }),
  ])
  .meta({ id: 'PixelGeometry', description: 'A detection in image pixels: x right, y down from the top-left corner; a MultiPolygon when it holds several polygons' })

const pixelGeometryError = z
  .strictObject({ reason: z.string(), detail: z.string() })
  .meta({ description: 'Why pixel_geometry is null (one bad tile never hides the other detections)' })

/** An upstream detection as the endpoints pass it on, plus its pixels. */
const detection = z
  .object({
    id: z.string(),
    value: z.string().optional().meta({ description: 'What was detected, e.g. object--vehicle--car' }),
    geometry: z.string().optional().meta({ description: 'Base64 Mapbox Vector Tile, as the upstream sends it' }),
    created_at: z.string().optional(),
    image: z.looseObject({ id: z.string() }).optional(),
    pixel_geometry: pixelGeometry.nullable().optional(),
    pixel_geometry_error: pixelGeometryError.optional(),
  })
  .meta({ id: 'Detection', description: 'An upstream detection; members as asked by `fields`' })

const imageMeta = z
  .strictObject({
    id: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    thumb_original_url: z.string().meta({ description: 'The JPEG; the URL expires upstream after a while' }),
  })
  .meta({ id: 'ImageMeta' })

/**
 * `GET /v1/sequences/{sequenceId}/detections`.
 * @example sequenceDetectionsAnswer.safeParse({ sequence_id: 's', image_ids: ['1'], detections: { '1': [] } }).success // true
 */
export const sequenceDetectionsAnswer = z
  .strictObject({
    sequence_id: z.string(),
    image_ids: z.array(z.string()).meta({ description: 'The sequence in upstream order' }),
    detections: z.record(z.string(), z.array(detection)).meta({ description: 'A key for every image id; [] where an image has none' }),
  })
  .meta({ id: 'SequenceDetections' })

/** `GET /v1/map-features`: GeoJSON, `application/geo+json`. */
export const featureCollectionAnswer = z
  .strictObject({
    type: z.literal('FeatureCollection'),
    features: z.array(
      z.strictObject({
        type: z.literal('Feature'),
        id: z.string(),
        geometry: point,
        properties: z.strictObject({
          id: z.string(),
          object_value: z.string().nullable(),
          // The extra fields a caller may ask for, null when the upstream has none.
          ...Object.fromEntries(MAP_FEATURE_FIELDS.map((f) => [f, z.unknown().optional()])),
        }),
      }),
    ),
  })
  .meta({ id: 'MapFeatureCollection', description: 'Every map feature whose point lies in the box, edges included, each once' })

/** `GET /v1/images/{imageId}/detections`. */
export const imageDetectionsAnswer = z
  .strictObject({ image: imageMeta, detections: z.array(detection.extend({ pixel_geometry: pixelGeometry.nullable() })) })
  .meta({ id: 'ImageDetections' })

/** `GET /v1/map-features/{mapFeatureId}/detections`: each detection in its own image's pixels. */
export const mapFeatureDetectionsAnswer = z
  .strictObject({
    map_feature: z.strictObject({ id: z.string() }),
    detections: z.array(detection.extend({ pixel_geometry: pixelGeometry.nullable(), image: imageMeta })),
  })
  .meta({ id: 'MapFeatureDetections' })

/** `GET /v1/map-features/{mapFeatureId}/images`. */
export const featureImagesAnswer = z
  .strictObject({
    map_feature: z.strictObject({ id: z.string(), object_value: z.string().nullable(), geometry: point.nullable() }),
    images: z.array(z.strictObject({ id: z.string(), thumb_original_url: z.string() })).meta({ description: 'In upstream order; [] when no image shows the feature' }),
  })
  .meta({ id: 'FeatureImages' })

/** `POST /v1/decode`. */
export const decodeAnswer = z.strictObject({ pixel_geometry: pixelGeometry }).meta({ id: 'Decoded' })

const jobState = z.enum(['queued', 'running', 'done', 'failed'])
const progress = z.strictObject({ done: z.number().int().min(0), total: z.number().int().min(0) }).meta({ id: 'Progress' })

/** `POST /v1/jobs` → 202. */
export const jobAccepted = z
  .strictObject({ id: z.string(), state: jobState, status_url: z.string().meta({ description: 'The job status, also in Location' }) })
  .meta({ id: 'JobAccepted' })

/** `GET /v1/jobs/{jobId}` (and the `done` event's data). */
export const jobStatus = z
  .strictObject({
    id: z.string(),
    task: z.enum(JOB_TASKS),
    state: jobState,
    progress,
    result_url: z.string(),
    problem: problemSchema.optional().meta({ description: 'Why it failed (state failed)' }),
    created_at: z.string().meta({ description: 'ISO 8601' }),
    updated_at: z.string().meta({ description: 'ISO 8601' }),
    expires_at: z.string().meta({ description: 'ISO 8601: after it the id is unknown (404)' }),
  })
  .meta({ id: 'JobStatus' })

/** `GET /healthz`. */
export const health = z
  .strictObject({
    status: z.enum(['ok', 'degraded']),
    workers: z.record(z.string(), z.enum(['up', 'down'])).meta({ description: 'Each Worker behind the gateway: the four task Workers, the jobs Worker and the embed Worker' }),
  })
  .meta({ id: 'Health' })

/** `GET /readyz`: whether the upstream answers, asked at most every READY_CHECK_SECONDS. */
export const readiness = z
  .looseObject({
    status: z.enum(['ready', 'not_ready']),
    ready: z.boolean(),
    reason: z.string().optional().meta({ description: 'Why not, in a few words' }),
    upstream_status: z.number().int().optional().meta({ description: "The upstream's HTTP status, when it answered" }),
    checked_at: z.string().meta({ description: 'When the upstream was last asked (ISO 8601)' }),
  })
  .meta({ id: 'Readiness' })
