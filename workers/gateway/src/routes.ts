/**
 * @module
 * The public routes and which task Worker answers each.
 */
import { answerFormat, GEOJSON_SEQ, type JobTask } from '../../../shared/http/task-params'
import type { TaskBinding } from './env'

export interface PublicRoute {
  path: string
  methods: readonly ('GET' | 'POST')[]
  binding: TaskBinding
  /** A fan-out that a job can go on with when the request's deadline passes: its task, and its
   * params (docs/api-v1.md, "Jobs") from the path's params and the query. */
  job?: { task: JobTask; params(path: Record<string, string>, query: URLSearchParams): Record<string, string> }
}

/** The query's params by name (the first of repeated ones), as a job's string params. */
const queryParams = (query: URLSearchParams): Record<string, string> => Object.fromEntries([...query.keys()].map((k) => [k, query.get(k)!]))

const withoutFormat = ({ format: _, ...rest }: Record<string, string>): Record<string, string> => rest

// Order matters: Hono matches the static `/v1/map-features` and the parameterised ones separately.
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  {
    path: '/v1/sequences/:sequenceId/detections',
    methods: ['GET'],
    binding: 'SEQUENCE_DETECTIONS',
    job: { task: 'sequence-detections', params: (p, q) => ({ ...queryParams(q), sequence_id: p.sequenceId! }) },
  },
  // A job's result is GeoJSON: a stream past its deadline goes on as the plain question.
  { path: '/v1/map-features', methods: ['GET'], binding: 'MAP_FEATURES', job: { task: 'map-features', params: (_, q) => withoutFormat(queryParams(q)) } },
  // A fan-out too, but no job task answers it yet (shared/http/task-params JOB_TASKS).
  { path: '/v1/map-features/:mapFeatureId/detections', methods: ['GET'], binding: 'DETECTION_GEOMETRY' },
  {
    path: '/v1/map-features/:mapFeatureId/images',
    methods: ['GET'],
    binding: 'FEATURE_IMAGES',
    job: { task: 'feature-images', params: (p) => ({ map_feature_id: p.mapFeatureId! }) },
  },
  { path: '/v1/images/:imageId/detections', methods: ['GET'], binding: 'DETECTION_GEOMETRY' },
  // The same detections drawn over the image's thumbnail (shared/svg); ETag and CORS as for JSON.
  { path: '/v1/images/:imageId/detections.svg', methods: ['GET'], binding: 'DETECTION_GEOMETRY' },
  { path: '/v1/decode', methods: ['POST'], binding: 'DETECTION_GEOMETRY' },
  { path: '/v1/jobs', methods: ['POST'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId', methods: ['GET'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId/result', methods: ['GET'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId/events', methods: ['GET'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId/redeliver', methods: ['POST'], binding: 'JOBS' },
  // Forwarded as it came: the jobs Worker verifies the signature over the raw body.
  { path: '/v1/hooks/:task', methods: ['POST'], binding: 'JOBS' },
  // Embedding into static sites (workers/embed): outside /v1, so no key, limit or ETag applies.
  { path: '/embed/images/:imageId', methods: ['GET'], binding: 'EMBED' },
  { path: '/embed/map-features', methods: ['GET'], binding: 'EMBED' },
  { path: '/embed/mly.js', methods: ['GET'], binding: 'EMBED' },
  { path: '/embed/embed.css', methods: ['GET'], binding: 'EMBED' },
  // One file name per vendored file (workers/embed/src/vendor.ts), e.g. leaflet.js, leaflet.css.
  { path: '/embed/vendor/:file', methods: ['GET'], binding: 'EMBED' },
]

/**
 * Whether the gateway tags the answer at `path` with an ETag (which reads the whole body). Not a
 * job's status, which changes, nor its event stream, which must flow as it is written, nor a
 * webhook trigger's 202; a job's result never changes, so it is tagged.
 * @example etagged('/v1/map-features') // true
 * @example etagged('/v1/jobs/0123…/events') // false
 */
export function etagged(path: string): boolean {
  if (path.startsWith('/v1/hooks/')) return false
  return !path.startsWith('/v1/jobs') || /^\/v1\/jobs\/[^/]+\/result$/.test(path)
}

/**
 * Whether a request asks for a streamed answer (`GET /v1/map-features` with `format=geojsonseq`, or
 * `Accept: application/geo+json-seq` and no format: the Worker decides with the same
 * `answerFormat`). Such an answer passes through as it flows: no ETag, which would read it whole.
 * @example asksForStream('/v1/map-features', new URLSearchParams('bbox=1,2,3,4&format=geojsonseq'), null) // true
 */
export function asksForStream(path: string, query: URLSearchParams, accept: string | null | undefined): boolean {
  return path === '/v1/map-features' && answerFormat(query.get('format') ?? undefined, accept) === 'geojsonseq'
}

/**
 * Whether an answer is a stream of records (RFC 8142), whose length and cost are not known when
 * its headers go: logged as `stream`, charged as a miss.
 * @example isStreamed(new Response('', { headers: { 'content-type': 'application/geo+json-seq' } })) // true
 */
export function isStreamed(res: Response): boolean {
  return res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() === GEOJSON_SEQ
}
