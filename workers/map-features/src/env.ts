import type { UndeclaredTaskSettings } from '../../../shared/upstream/request-client'

/**
 * Bindings of the mly-map-features Worker: what its wrangler.toml declares, as `wrangler types`
 * writes it (`MapFeaturesEnv` in worker-configuration.d.ts; `npm run types`; the config's comments
 * say what each binding is), plus what the config does not declare: the secrets and the budget
 * ({@link UndeclaredTaskSettings}), and the settings below, left at their defaults.
 */
export interface Env extends MapFeaturesEnv, UndeclaredTaskSettings {
  /** Largest box served, in square degrees; default 0.05 (question.ts). */
  MAX_BBOX_AREA?: string
  /** Widest a requested cell may be, in degrees; unset: no limit (box-limits.ts, docs/upstream.md). */
  MAX_CELL_SPAN_DEG?: string
  /** Most part objects a box planned into many cells is split across; default 4 (shared/fanout/shards.ts). */
  MAX_SHARDS?: string
  /** Fewest start cells worth a part object of their own; default 12. */
  MIN_ITEMS_PER_SHARD?: string
}
