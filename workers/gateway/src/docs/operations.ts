/**
 * @module
 * What the document says of each public route: the request schemas the Workers validate with
 * (shared/http), the answer schemas (./answers), the words for each parameter, the headers.
 * Keyed by the router's method and path (`GET /v1/jobs/:jobId`), as PUBLIC_ROUTES writes them.
 */
import type { ZodObject, ZodType } from 'zod'
import { z } from 'zod'
import { DETECTION_FIELDS, DEFAULT_DETECTION_FIELDS, GEOJSON_SEQ, JOB_TASKS, MAP_FEATURE_FIELDS, MAP_FEATURES_FORMATS, mapFeaturePath, mapFeaturesQuery, imageDetectionsPath, sequenceDetectionsPath, sequenceDetectionsQuery } from '../../../../shared/http/task-params'
import { decodeBody, MAX_GEOMETRY_CHARS, MAX_OBJECT_VALUES } from '../../../../shared/http/validation'
import { decodeAnswer, featureCollectionAnswer, featureImagesAnswer, health, readiness, imageDetectionsAnswer, jobAccepted, jobStatus, mapFeatureDetectionsAnswer, sequenceDetectionsAnswer } from './answers'
import { JOB_PARAMS, jobBody, jobIdParam } from './requests'
import { DEFAULT_MAX_DECODE_BODY_BYTES, DEFAULT_MAX_DECODE_POINTS } from '../../../detection-geometry/src/decode-limits'
import { DEFAULT_OPACITY, DEFAULT_STROKE } from '../../../../shared/svg/detections-svg'
import { detectionsSvgQuery, MAX_DISPLAY_WIDTH, MAX_STROKE, SVG_MAX_AGE, THUMB_SIZES } from '../../../detection-geometry/src/detections-svg-query'

export interface ParamDoc {
  description: string
  example?: string
}

/** One answer other than a problem: its status, words, content types with schemas, headers. */
export interface AnswerDoc {
  status: number
  description: string
  content?: Record<string, ZodType | { type: 'string' } | { type: 'object' }>
  headers?: readonly string[]
}

export interface OperationDoc {
  summary: string
  description?: string
  tag: string
  request?: { params?: ZodObject; query?: ZodObject; body?: ZodType; headers?: ZodObject }
  /** Words for every path, query and header parameter, by name. */
  params?: Record<string, ParamDoc>
  answers: readonly AnswerDoc[]
  /** Sends the Mapillary token (`Authorization: OAuth MLY|…`) on when the caller gives one. */
  clientToken?: boolean
}

const SEQUENCE = { description: 'Upstream sequence key: 1 to 64 letters, digits, _ or -', example: '3uEM4sYfCH6ZgcEzN0yhbk' }
const MAP_FEATURE = { description: 'Upstream map feature id: 1 to 20 digits', example: '897467189777867' }
const IMAGE = { description: 'Upstream image id: 1 to 20 digits', example: '361705751724011' }
const JOB = { description: 'A job id as POST /v1/jobs answered it: 32 hexadecimal digits', example: '0123456789abcdef0123456789abcdef' }

/** Headers of a task's cacheable answer (shared/http/answer.ts). */
const TASK_ANSWER_HEADERS = ['Cache-Control', 'X-Cache', 'X-Upstream-Requests', 'Age'] as const

const json = (schema: ZodType) => ({ 'application/json': schema })

/** The embed map page's query (workers/embed): the box as the API takes it, the page's own options. */
const embedMapQuery = z.object({ bbox: z.string(), object_values: z.string().optional(), tiles: z.string().optional() })
/** A vendored file's name (workers/embed/src/vendor.ts). */
const embedVendorPath = z.object({ file: z.string().regex(/^[A-Za-z0-9._-]+$/) })

/** One delivery of a job's callback (workers/jobs/src/job-view.ts `DeliveryView`). */
const delivery = z
  .strictObject({
    id: z.string().meta({ description: 'The X-Delivery-Id of every attempt of this delivery: receivers dedupe by it' }),
    event: z.enum(['job.done', 'job.failed']).meta({ description: 'X-Event-Type' }),
    state: z.enum(['pending', 'delivered', 'failed', 'superseded']).meta({ description: 'superseded: a redeliver started a newer one while this was pending' }),
    next_attempt_at: z.string().optional().meta({ description: 'ISO 8601, while pending' }),
    attempts: z.array(
      z.strictObject({
        at: z.string().meta({ description: 'ISO 8601' }),
        status: z.number().int().optional().meta({ description: "The receiver's HTTP status (2xx ends the delivery; a 3xx is never followed)" }),
        error: z.string().optional().meta({ description: 'Why the attempt failed when there was no answer, or a redirect' }),
        latency_ms: z.number().int().min(0),
      }),
    ),
  })
  .meta({ id: 'Delivery' })

/** The status with its callback's deliveries (`deliveries` only when the job has a callback_url and ended). */
const jobStatusWithDeliveries = jobStatus.extend({ deliveries: z.array(delivery).optional().meta({ description: "Each delivery of the job's callback, oldest first" }) }).meta({ id: 'JobStatus' })

const CALLBACK_URL = z.string().max(2048).meta({ description: 'https URL of a public host the result is POSTed to when the job ends (signed, see X-Signature); private, loopback, link-local and metadata addresses, local names and credentials in the URL are refused (400 invalid_callback_url)' })

/** `POST /v1/hooks/{task}` body: the task's params by name, and callback_url. */
const hookBody = z
  .union(JOB_TASKS.map((task) => JOB_PARAMS[task].extend({ callback_url: CALLBACK_URL.optional() }).meta({ title: task })) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
  .meta({ id: 'HookRequest' })

/**
 * Every public route's documentation, by `METHOD /router/path`. The gateway's own routes
 * (`/healthz`, `/readyz`, `/openapi.json`, `/docs`) are here too.
 * @example OPERATIONS['GET /v1/map-features']?.request?.query === mapFeaturesQuery // true: the Worker's own schema
 */
export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  'GET /v1/sequences/:sequenceId/detections': {
    tag: 'Detections',
    summary: 'Every detection of a sequence',
    description: 'The sequence in upstream order and, for every image, its detections. A sequence of any length is answered whole.',
    request: { params: sequenceDetectionsPath, query: sequenceDetectionsQuery },
    params: {
      sequenceId: SEQUENCE,
      fields: { description: `Detection fields, comma-separated, of ${DETECTION_FIELDS.join(', ')} (upstream names); default ${DEFAULT_DETECTION_FIELDS.join(',')}`, example: 'id,value' },
      pixels: { description: 'true or 1: add pixel_geometry to every detection; false or 0 (default): not', example: 'true' },
    },
    answers: [{ status: 200, description: 'The detections', content: json(sequenceDetectionsAnswer), headers: TASK_ANSWER_HEADERS }],
    clientToken: true,
  },
  'GET /v1/map-features': {
    tag: 'Map features',
    summary: 'Every map feature in a bounding box',
    description:
      "Past the upstream's 2000-per-request cap: every feature whose point lies in the box, edges included, each once. A box too large or too costly to sweep is a 422 naming the limit. " +
      'With format=geojsonseq (or Accept: application/geo+json-seq and no format) the features stream as RFC 8142 records while the sweep runs: each record is RS (0x1E), one Feature (the same object as in the FeatureCollection), LF; each feature once. ' +
      'What is known before the first byte (a bad box, a box too costly, no token) is the usual problem; a failure after it (the upstream, the bound reached by splits, incomplete_result) ends the stream in an error, so the transfer is cut short (curl exits 18), never a clean end. No ETag; Cache-Control: no-store.',
    request: { query: mapFeaturesQuery },
    params: {
      bbox: { description: 'west,south,east,north in WGS84 degrees; latitudes within ±85.0511, south ≤ north; west > east crosses the antimeridian', example: '12.985,55.585,13.015,55.615' },
      object_values: { description: `Comma-separated object values to keep (at most ${MAX_OBJECT_VALUES}), passed upstream`, example: 'object--street-light' },
      fields: { description: `Extra upstream fields for properties, comma-separated, of ${MAP_FEATURE_FIELDS.join(', ')} (id and object_value always)`, example: 'object_type' },
      format: { description: `${MAP_FEATURES_FORMATS.join(' or ')}: one FeatureCollection (application/geo+json, the default) or the features streamed as RFC 8142 records (${GEOJSON_SEQ}); absent, the Accept header decides. Jobs take geojson only`, example: 'geojsonseq' },
    },
    answers: [
      {
        status: 200,
        description: `A GeoJSON FeatureCollection, or (format=geojsonseq) its features as RFC 8142 records: RS, one Feature, LF each`,
        content: { 'application/geo+json': featureCollectionAnswer, [GEOJSON_SEQ]: { type: 'string' } },
        headers: [...TASK_ANSWER_HEADERS, 'Vary'],
      },
    ],
    clientToken: true,
  },
  'GET /v1/map-features/:mapFeatureId/detections': {
    tag: 'Detections',
    summary: "A map feature's detections, in their images' pixels",
    request: { params: mapFeaturePath },
    params: { mapFeatureId: MAP_FEATURE },
    answers: [{ status: 200, description: 'Each detection with its image and its pixel geometry in that image', content: json(mapFeatureDetectionsAnswer), headers: TASK_ANSWER_HEADERS }],
    clientToken: true,
  },
  'GET /v1/map-features/:mapFeatureId/images': {
    tag: 'Map features',
    summary: 'The images in which a map feature is visible',
    request: { params: mapFeaturePath },
    params: { mapFeatureId: MAP_FEATURE },
    answers: [{ status: 200, description: 'The feature and its images, with their JPEG URLs, in upstream order', content: json(featureImagesAnswer), headers: TASK_ANSWER_HEADERS }],
    clientToken: true,
  },
  'GET /v1/images/:imageId/detections': {
    tag: 'Detections',
    summary: "An image's detections, with pixel geometry",
    request: { params: imageDetectionsPath },
    params: { imageId: IMAGE },
    answers: [{ status: 200, description: 'The image (size, JPEG URL) and its detections in its pixels', content: json(imageDetectionsAnswer), headers: TASK_ANSWER_HEADERS }],
    clientToken: true,
  },
  'GET /v1/images/:imageId/detections.svg': {
    tag: 'Detections',
    summary: "An image's detections drawn over its thumbnail, as SVG",
    description: `viewBox "0 0 {width} {height}" in the image's pixels, the thumbnail of the asked size behind, one <path> per detection polygon (holes by fill-rule="evenodd"), a colour per class family (the value's first segment), a legend, <title> hover labels; no script. Cached briefly (thumbnail URLs expire): max-age ${SVG_MAX_AGE}.`,
    request: { params: imageDetectionsPath, query: detectionsSvgQuery },
    params: {
      imageId: IMAGE,
      size: { description: `Which thumbnail is the background: ${THUMB_SIZES.join(', ')} (default 1024)`, example: '256' },
      width: { description: `Displayed width in pixels, 1 to ${MAX_DISPLAY_WIDTH}, the height scaled (default: the image's width)`, example: '640' },
      labels: { description: 'Hover labels (<title>) with each detection\'s value: true, false, 1 or 0 (default true)', example: 'false' },
      opacity: { description: `Fill opacity, 0 to 1 (default ${DEFAULT_OPACITY})`, example: '0.5' },
      stroke: { description: `Outline width in displayed pixels, 0 to ${MAX_STROKE} (default ${DEFAULT_STROKE})`, example: '3' },
      values: { description: `Only detections of these values (comma list, exact, at most ${MAX_OBJECT_VALUES})`, example: 'regulatory--stop--g1,object--vehicle--car' },
    },
    answers: [{ status: 200, description: 'The SVG', content: { 'image/svg+xml': { type: 'string' } }, headers: [...TASK_ANSWER_HEADERS, 'Content-Security-Policy'] }],
    clientToken: true,
  },
  'POST /v1/decode': {
    tag: 'Detections',
    summary: 'Decode a detection geometry into image pixels',
    description: `The same decoding as the detection endpoints, with no upstream call. geometry: base64 Mapbox Vector Tile (at most ${MAX_GEOMETRY_CHARS} characters); width and height: the image's size in pixels. A body past MAX_DECODE_BODY_BYTES (default ${DEFAULT_MAX_DECODE_BODY_BYTES} bytes) is 413; a tile drawing more than MAX_DECODE_POINTS points (default ${DEFAULT_MAX_DECODE_POINTS}) is 422 too_many_points, naming the limit.`,
    request: { body: decodeBody },
    answers: [{ status: 200, description: 'The geometry in pixels', content: json(decodeAnswer) }],
  },
  'POST /v1/jobs': {
    tag: 'Jobs',
    summary: 'Run a task as a job that outlives the request',
    description: "params are the task's synchronous endpoint's path and query parameters by name, checked with the same rules (numbers and booleans stand for their text). A client token in Authorization is kept in the job's memory only.",
    request: { body: jobBody },
    answers: [{ status: 202, description: 'Accepted: follow status_url (also in Location)', content: json(jobAccepted), headers: ['Location', 'Cache-Control'] }],
    clientToken: true,
  },
  'GET /v1/jobs/:jobId': {
    tag: 'Jobs',
    summary: "A job's state and progress",
    request: { params: z.object({ jobId: jobIdParam }) },
    params: { jobId: JOB },
    answers: [{ status: 200, description: 'The job', content: json(jobStatusWithDeliveries), headers: ['Cache-Control'] }],
  },
  'POST /v1/jobs/:jobId/redeliver': {
    tag: 'Jobs',
    summary: "Deliver an ended job's callback again",
    description: 'Starts a new delivery (a new X-Delivery-Id), retried like the first; one still pending is superseded. 409 job_not_ready before the job ended, 409 no_callback_url for a job submitted without one.',
    request: { params: z.object({ jobId: jobIdParam }) },
    params: { jobId: JOB },
    answers: [{ status: 202, description: 'The new delivery; follow it in the job status (Location)', content: json(delivery), headers: ['Location', 'Cache-Control'] }],
  },
  'POST /v1/hooks/:task': {
    tag: 'Jobs',
    summary: 'Start a job from another system: a signed webhook trigger',
    description:
      'The body is the task\'s params (as in POST /v1/jobs) plus an optional callback_url. X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<raw body>")> (several v1 allowed; the current or the previous secret). 401 when missing, malformed, not matching, or more than 5 minutes from now; 409 signature_replayed when the same signature comes again; 404 webhooks_disabled when the server has no WEBHOOK_SECRET. On completion the result (above 1 MiB: {"job", "result_url"}; a failed job: its problem with job and status_url) is POSTed to callback_url, signed the same way, with X-Delivery-Id and X-Event-Type (job.done or job.failed), retried with backoff; delivery is at least once: dedupe by X-Delivery-Id.',
    request: {
      params: z.object({ task: z.enum(JOB_TASKS) }),
      body: hookBody,
      headers: z.object({ 'X-Signature': z.string().regex(/^t=\d+(,v1=[0-9a-f]{64})+$/) }),
    },
    params: {
      task: { description: 'The task the job runs', example: 'image-detections' },
      'X-Signature': { description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>', example: 't=1764547200,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd' },
    },
    answers: [{ status: 202, description: 'Accepted: follow status_url (also in Location)', content: json(jobAccepted), headers: ['Location', 'Cache-Control'] }],
    clientToken: true,
  },
  'GET /v1/jobs/:jobId/result': {
    tag: 'Jobs',
    summary: "A finished job's result",
    description: "Byte for byte the body and content type the synchronous endpoint gives. 409 job_not_ready while the job runs; a failed job answers its problem, with that problem's status.",
    request: { params: z.object({ jobId: jobIdParam }) },
    params: { jobId: JOB },
    answers: [
      {
        status: 200,
        description: "The task's answer",
        content: {
          'application/json': z.union([sequenceDetectionsAnswer, imageDetectionsAnswer, featureImagesAnswer]),
          'application/geo+json': featureCollectionAnswer,
        },
      },
    ],
  },
  'GET /v1/jobs/:jobId/events': {
    tag: 'Jobs',
    summary: "A job's progress as Server-Sent Events",
    description: '`retry:`, then `event: progress` with {"done","total"} as work advances, then `event: done` (data: the job status) or `event: failed` (data: the problem), then the stream ends. `: heartbeat` comments while nothing changes. Reconnecting with Last-Event-ID sends only what was not seen.',
    request: { params: z.object({ jobId: jobIdParam }), headers: z.object({ 'Last-Event-ID': z.string().regex(/^[0-9]+$/).optional() }) },
    params: { jobId: JOB, 'Last-Event-ID': { description: 'The last event id seen (EventSource sends it when it reconnects)', example: '3' } },
    answers: [
      { status: 200, description: 'The event stream', content: { 'text/event-stream': { type: 'string' } } },
      { status: 204, description: 'Last-Event-ID says the client has seen the end: nothing more (stops EventSource)' },
    ],
  },
  'GET /healthz': {
    tag: 'Service',
    summary: 'Whether the gateway and every Worker behind it are up',
    description: 'Cheap: asks no upstream.',
    answers: [
      { status: 200, description: 'All up', content: json(health), headers: ['Cache-Control'] },
      { status: 503, description: 'Some Worker is down (status degraded)', content: json(health), headers: ['Cache-Control'] },
    ],
  },
  'GET /readyz': {
    tag: 'Service',
    summary: 'Whether the upstream answers (readiness)',
    description: 'The upstream is asked at most once per READY_CHECK_SECONDS per isolate, however often this is called.',
    answers: [
      { status: 200, description: 'Ready', content: json(readiness), headers: ['Cache-Control'] },
      { status: 503, description: 'Not ready: the upstream does not answer, or rejects the server token', content: json(readiness), headers: ['Cache-Control', 'Retry-After'] },
    ],
  },
  'GET /openapi.json': {
    tag: 'Service',
    summary: 'This document (OpenAPI 3.1)',
    answers: [{ status: 200, description: 'The OpenAPI document', content: { 'application/json': { type: 'object' } }, headers: ['Cache-Control'] }],
  },
  'GET /docs': {
    tag: 'Service',
    summary: 'This document as a readable HTML page (no script, works offline)',
    answers: [{ status: 200, description: 'The reference', content: { 'text/html': { type: 'string' } }, headers: ['Cache-Control', 'Content-Security-Policy'] }],
  },
  // Embedding into static sites (workers/embed): pages for an <iframe>, the web components, their files.
  'GET /embed/images/:imageId': {
    tag: 'Embedding',
    summary: 'An HTML page for an <iframe>: the image with its detections drawn over it, a legend and hover labels',
    description: 'The page runs <mly-detections> (GET /embed/mly.js), which reads GET /v1/images/{id}/detections of this origin in the browser. Strict CSP (no inline script), frame-ancestors from EMBED_ANCESTORS.',
    request: { params: imageDetectionsPath },
    params: { imageId: IMAGE },
    answers: [{ status: 200, description: 'The page', content: { 'text/html': { type: 'string' } }, headers: ['Cache-Control', 'Content-Security-Policy'] }],
  },
  'GET /embed/map-features': {
    tag: 'Embedding',
    summary: "An HTML page for an <iframe>: a box's map features on a map, coloured by class",
    description: 'The page reads GET /v1/map-features of this origin in the browser; a click on a feature lists the images that see it. Strict CSP, frame-ancestors from EMBED_ANCESTORS.',
    request: { query: embedMapQuery },
    params: {
      bbox: { description: 'west,south,east,north in degrees, as GET /v1/map-features takes it', example: '12.985,55.585,13.015,55.615' },
      object_values: { description: 'Comma-separated classes to show, as GET /v1/map-features takes them' },
      tiles: { description: 'A base map: an https URL template with {z}, {x} and {y}; none by default' },
    },
    answers: [{ status: 200, description: 'The page', content: { 'text/html': { type: 'string' } }, headers: ['Cache-Control', 'Content-Security-Policy'] }],
  },
  'GET /embed/mly.js': {
    tag: 'Embedding',
    summary: 'The web components <mly-detections image="…"> and <mly-map-features bbox="…"> as one ES module',
    description: 'Framework-free; loadable from any site (CORS *). The elements call the public API of the origin the module came from, or the one their api attribute names.',
    answers: [{ status: 200, description: 'The module', content: { 'text/javascript': { type: 'string' } }, headers: ['Cache-Control'] }],
  },
  'GET /embed/embed.css': {
    tag: 'Embedding',
    summary: 'The stylesheet of the embed pages',
    answers: [{ status: 200, description: 'The stylesheet', content: { 'text/css': { type: 'string' } }, headers: ['Cache-Control'] }],
  },
  'GET /embed/vendor/:file': {
    tag: 'Embedding',
    summary: 'A file of the bundled map library (Leaflet, leaflet.markercluster), so no CDN is needed',
    request: { params: embedVendorPath },
    params: { file: { description: 'The file name', example: 'leaflet.js' } },
    answers: [{ status: 200, description: 'The file', content: { 'text/javascript': { type: 'string' }, 'text/css': { type: 'string' } }, headers: ['Cache-Control'] }],
  },
}
