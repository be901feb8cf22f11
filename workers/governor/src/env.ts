/**
 * Bindings of the mly-governor Worker: what its wrangler.toml declares, as `wrangler types` writes
 * it (`GovernorEnv` in worker-configuration.d.ts; `npm run types`; the config's comments say what
 * each binding is). It holds no secret: permits are counted, no upstream is called.
 */
export interface Env extends GovernorEnv {}
