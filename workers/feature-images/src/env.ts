import type { UndeclaredTaskSettings } from '../../../shared/upstream/request-client'

/**
 * Bindings of the mly-feature-images Worker: what its wrangler.toml declares, as `wrangler types`
 * writes it (`FeatureImagesEnv` in worker-configuration.d.ts; `npm run types`; the config's
 * comments say what each binding is), plus what the config does not declare: the secrets and the
 * budget ({@link UndeclaredTaskSettings}).
 */
export interface Env extends FeatureImagesEnv, UndeclaredTaskSettings {}
