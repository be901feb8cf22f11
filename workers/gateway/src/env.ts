/** Bindings of the gateway Worker (see wrangler.toml at the repository root). */
export interface Env {
  SEQUENCE_DETECTIONS: Fetcher
  MAP_FEATURES: Fetcher
  DETECTION_GEOMETRY: Fetcher
  FEATURE_IMAGES: Fetcher
  /** mly-jobs: `/v1/jobs…` (a task as a job: status, result, events). */
  JOBS: Fetcher
  /** `*` or a comma-separated list of allowed browser origins. */
  CORS_ORIGINS?: string
}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES' | 'JOBS'
export const TASK_BINDINGS: readonly TaskBinding[] = ['SEQUENCE_DETECTIONS', 'MAP_FEATURES', 'DETECTION_GEOMETRY', 'FEATURE_IMAGES', 'JOBS']
