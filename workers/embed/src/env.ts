/**
 * Bindings of the mly-embed Worker: what its wrangler.toml declares, as `wrangler types` writes it
 * (`EmbedEnv` in worker-configuration.d.ts; `npm run types`).
 */
export interface Env extends EmbedEnv {}
