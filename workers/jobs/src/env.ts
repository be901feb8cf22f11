import type { Job } from './job'

/** Bindings of the mly-jobs Worker (see its wrangler.toml). */
export interface Env {
  /** One object per job, named by the job id. */
  JOB: DurableObjectNamespace<Job>
  SEQUENCE_DETECTIONS: Fetcher
  MAP_FEATURES: Fetcher
  DETECTION_GEOMETRY: Fetcher
  FEATURE_IMAGES: Fetcher
  /** Seconds a job's record and result are kept after it was submitted. Default 86400. */
  JOB_TTL_SECONDS?: string
  /** Seconds between `: heartbeat` comments of an idle event stream. Default 15. */
  SSE_HEARTBEAT_SECONDS?: string
}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES'
