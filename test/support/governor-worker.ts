/**
 * @module
 * The upstream quota governor (workers/governor) as a Miniflare auxiliary Worker for the runtime
 * test projects: each task Worker binds GOVERNOR across scripts (`script_name = "mly-governor"`),
 * and @cloudflare/vitest-plugin runs only the one Worker of its wrangler config, so the governor
 * joins as a built script. Bundled once per vitest run with esbuild (wrangler's own bundler),
 * with the vars and compatibility date of its wrangler.toml.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { buildSync } from 'esbuild'
import { unstable_readConfig } from 'wrangler'

const CONFIG = 'workers/governor/wrangler.toml'
const OUT = 'node_modules/.cache/mly-edge/mly-governor.mjs'

let built = false

/**
 * Miniflare options of the governor Worker (name `mly-governor`), its settings overridden by `vars`.
 *
 * @example
 * cloudflareTest(() => ({ wrangler: { configPath }, miniflare: { workers: [governorWorker({ UPSTREAM_RATE_PER_MINUTE: '600' })] } }))
 */
export function governorWorker(vars: Record<string, string> = {}) {
  const config = unstable_readConfig({ config: CONFIG })
  if (!built) {
    mkdirSync(path.dirname(OUT), { recursive: true })
    buildSync({
      entryPoints: [path.resolve(path.dirname(CONFIG), config.main ?? 'src/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      external: ['cloudflare:*'],
      outfile: OUT,
      logLevel: 'error',
    })
    built = true
  }
  return {
    name: config.name!,
    modules: true,
    scriptPath: path.resolve(OUT),
    compatibilityDate: config.compatibility_date!,
    bindings: { ...(config.vars as Record<string, string>), ...vars },
    durableObjects: Object.fromEntries(config.durable_objects.bindings.map((b: { name: string; class_name: string }) => [b.name, { className: b.class_name, useSQLite: true }])),
  }
}
