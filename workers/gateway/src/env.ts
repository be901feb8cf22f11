/**
 * Bindings of the gateway Worker: what wrangler.toml at the repository root declares, as
 * `wrangler types` writes it (`GatewayEnv` in worker-configuration.d.ts; `npm run types`). The
 * config's comments say what each binding is.
 */
export interface Env extends GatewayEnv {}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES' | 'JOBS'
export const TASK_BINDINGS: readonly TaskBinding[] = ['SEQUENCE_DETECTIONS', 'MAP_FEATURES', 'DETECTION_GEOMETRY', 'FEATURE_IMAGES', 'JOBS']
