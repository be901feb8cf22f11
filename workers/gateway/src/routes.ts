/**
 * @module
 * The public routes and which task Worker answers each.
 */
import type { TaskBinding } from './env'

export interface PublicRoute {
  path: string
  methods: readonly ('GET' | 'POST')[]
  binding: TaskBinding
}

// Order matters: Hono matches the static `/v1/map-features` and the parameterised ones separately.
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { path: '/v1/sequences/:sequenceId/detections', methods: ['GET'], binding: 'SEQUENCE_DETECTIONS' },
  { path: '/v1/map-features', methods: ['GET'], binding: 'MAP_FEATURES' },
  { path: '/v1/map-features/:mapFeatureId/detections', methods: ['GET'], binding: 'DETECTION_GEOMETRY' },
  { path: '/v1/map-features/:mapFeatureId/images', methods: ['GET'], binding: 'FEATURE_IMAGES' },
  { path: '/v1/images/:imageId/detections', methods: ['GET'], binding: 'DETECTION_GEOMETRY' },
  { path: '/v1/decode', methods: ['POST'], binding: 'DETECTION_GEOMETRY' },
  { path: '/v1/jobs', methods: ['POST'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId', methods: ['GET'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId/result', methods: ['GET'], binding: 'JOBS' },
  { path: '/v1/jobs/:jobId/events', methods: ['GET'], binding: 'JOBS' },
]

/**
 * Whether the gateway tags the answer at `path` with an ETag (which reads the whole body). Not a
 * job's status, which changes, nor its event stream, which must flow as it is written; a job's
 * result never changes, so it is tagged.
 * @example etagged('/v1/map-features') // true
 * @example etagged('/v1/jobs/0123…/events') // false
 */
export function etagged(path: string): boolean {
  return !path.startsWith('/v1/jobs') || /^\/v1\/jobs\/[^/]+\/result$/.test(path)
}
