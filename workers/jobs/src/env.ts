/**
 * Bindings of the mly-jobs Worker: what its wrangler.toml declares, as `wrangler types` writes it
 * (`JobsEnv` in worker-configuration.d.ts; `npm run types`). The config's comments say what each
 * binding is. It holds no Mapillary token; its one secret signs and verifies webhooks.
 */
export interface Env extends JobsEnv {
  /** The webhook secret, then optionally the previous one, comma-separated (a secret: not in wrangler.toml). */
  WEBHOOK_SECRET?: string
}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES'
