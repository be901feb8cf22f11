/**
 * Bindings of the mly-jobs Worker: what its wrangler.toml declares, as `wrangler types` writes it
 * (`JobsEnv` in worker-configuration.d.ts; `npm run types`). The config's comments say what each
 * binding is. It holds no secret: no Mapillary token.
 */
export interface Env extends JobsEnv {}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES'
