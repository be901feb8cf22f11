/**
 * Bindings of the gateway Worker: what wrangler.toml at the repository root declares, as
 * `wrangler types` writes it (`GatewayEnv` in worker-configuration.d.ts; `npm run types`), the rate
 * limiter's namespace typed by its class. The config's comments say what each binding is.
 */
export interface Env extends GatewayEnv {}

export type TaskBinding = 'SEQUENCE_DETECTIONS' | 'MAP_FEATURES' | 'DETECTION_GEOMETRY' | 'FEATURE_IMAGES' | 'JOBS' | 'EMBED'
export const TASK_BINDINGS: readonly TaskBinding[] = ['SEQUENCE_DETECTIONS', 'MAP_FEATURES', 'DETECTION_GEOMETRY', 'FEATURE_IMAGES', 'JOBS', 'EMBED']

/** What the gateway's middleware leave for the ones after them (Hono's `c.var`). */
export interface GatewayVariables {
  requestId: string
  /** Who is limited (`key:<id>`, `ip`, `exempt`), for the log line. */
  limitedAs?: string
  /** A job started when the deadline passed, for the log line. */
  deadlineJob?: string
}

export type GatewayApp = { Bindings: Env; Variables: GatewayVariables }

/**
 * A numeric var: its value when it is a positive number, else the fallback.
 * @example positiveNumber('25', 30) // 25
 * @example positiveNumber('', 30)   // 30
 */
export function positiveNumber(value: string | undefined, fallback: number): number {
  const n = Number(value)
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : fallback
}
