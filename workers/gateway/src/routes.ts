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
]
