/** @module Types of scripts/local-state.mjs (plain JavaScript, so `node` runs it as is), for the tests and TypeScript callers. */
export const STATE_ROOT: string
export const SAMPLE_STATE: string
export const LOG_DIR: string
export const DEFAULT_GRAPH_URL: string
export const SANDBOX_TOKEN: string
export const LOG_MAX_AGE_MS: number
export const LOG_MAX_BYTES: number
export const OBSERVABILITY_MAX_BYTES: number

export interface Settings {
  port: number
  sandboxPort: number
  /** Neither MAPILLARY_GRAPH_URL nor MAPILLARY_ACCESS_TOKEN: the bundled stand-in's sample world. */
  sample: boolean
  graphUrl?: string
  token?: string
  /** Where every upstream's directory goes: `.wrangler/state`, or MLY_EDGE_STATE_ROOT. */
  stateRoot: string
  corsOrigins?: string
  budget?: string
  /** Any other setting by name: the environment, then .dev.vars. */
  pick(name: string): string | undefined
}
export function readSettings(root: string, env?: Record<string, string | undefined>): Settings
export function upstreamName(graphUrl: string): string
export function persistDir(settings: Pick<Settings, 'sample' | 'graphUrl'> & { stateRoot?: string }): string
export function prepareStateDir(root: string, settings: Pick<Settings, 'sample' | 'graphUrl'> & Partial<Settings>): string
export function sizeOf(p: string): number
export function pruneLogs(dir: string, options?: { maxBytes?: number; maxAgeMs?: number; now?: number }): string[]
export function capDir(dir: string, maxBytes: number): number
export function boundLocalLogs(root: string, stateDirs: string[]): string[]
