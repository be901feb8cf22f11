/**
 * @module
 * Each Worker's bindings as `wrangler types` writes them from its wrangler.toml: one declaration
 * file per Worker (`src/worker-configuration.d.ts`) with an interface name of its own, so all of
 * them live side by side in one TypeScript program. Each Worker's `src/env.ts` extends its
 * interface with what the config cannot declare (secrets, settings left at their defaults).
 *
 *   npm run types             writes every file
 *   npm run types -- --check  fails, naming them, when a file is not what wrangler would write
 *                             (the unit test beside this file does the same on every `npm test`)
 *
 * Secrets are not in wrangler.toml, and wrangler would otherwise read their names from a
 * `.dev.vars` or `.env` beside the config, which differs from one machine to the next: it is given
 * no such file (`--env-file=/dev/null`), so the output depends on the configs alone. Runs offline
 * in well under a second (wrangler's own generator, in process). Paths are relative to the
 * repository root, as wrangler writes them into each file's header.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { experimental_generateTypes } from 'wrangler'

export interface WorkerTypes {
  /** The Worker's wrangler config. */
  config: string
  /** The declaration file wrangler writes, beside the Worker's entry point. */
  path: string
  /** The interface it declares (global), extended by the Worker's `Env` in src/env.ts. */
  envInterface: string
}

/** Every deployed Worker (the Graph API stand-in and the engine's test Worker keep hand-written types). */
export const WORKER_TYPES: readonly WorkerTypes[] = [
  { config: 'wrangler.toml', path: 'workers/gateway/src/worker-configuration.d.ts', envInterface: 'GatewayEnv' },
  { config: 'workers/sequence-detections/wrangler.toml', path: 'workers/sequence-detections/src/worker-configuration.d.ts', envInterface: 'SequenceDetectionsEnv' },
  { config: 'workers/map-features/wrangler.toml', path: 'workers/map-features/src/worker-configuration.d.ts', envInterface: 'MapFeaturesEnv' },
  { config: 'workers/detection-geometry/wrangler.toml', path: 'workers/detection-geometry/src/worker-configuration.d.ts', envInterface: 'DetectionGeometryEnv' },
  { config: 'workers/feature-images/wrangler.toml', path: 'workers/feature-images/src/worker-configuration.d.ts', envInterface: 'FeatureImagesEnv' },
  { config: 'workers/jobs/wrangler.toml', path: 'workers/jobs/src/worker-configuration.d.ts', envInterface: 'JobsEnv' },
  { config: 'workers/governor/wrangler.toml', path: 'workers/governor/src/worker-configuration.d.ts', envInterface: 'GovernorEnv' },
  { config: 'workers/embed/wrangler.toml', path: 'workers/embed/src/worker-configuration.d.ts', envInterface: 'EmbedEnv' },
]

/** The repository root: the paths above, and those in each file's header, are relative to it. */
export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/**
 * What `wrangler types` writes for one Worker: bindings only (the runtime's types come from
 * @cloudflare/workers-types), vars as `string` (tests and `npm start` set other values), no
 * `mainModule` (each runtime test project declares its own), no secrets file.
 */
export async function generatedTypes(w: WorkerTypes): Promise<string> {
  if (path.resolve(process.cwd()) !== ROOT) throw new Error(`worker types: run from the repository root (${ROOT}), not ${process.cwd()}`)
  // With this set, wrangler would take every variable of the process environment for a secret.
  const includeProcessEnv = process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV
  delete process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV
  try {
    const { content } = await experimental_generateTypes({
      config: w.config,
      path: w.path,
      envInterface: w.envInterface,
      includeRuntime: false,
      includeMainModule: false,
      strictVars: false,
      envFile: ['/dev/null'],
    })
    return content
  } finally {
    if (includeProcessEnv !== undefined) process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = includeProcessEnv
  }
}

/** The declaration files that differ from what wrangler would write now (missing ones included). */
export async function staleWorkerTypes(): Promise<string[]> {
  const stale: string[] = []
  for (const w of WORKER_TYPES) {
    let current: string | undefined
    try {
      current = readFileSync(path.join(ROOT, w.path), 'utf8')
    } catch {}
    if (current !== (await generatedTypes(w))) stale.push(w.path)
  }
  return stale
}

async function main(args: string[]): Promise<number> {
  process.chdir(ROOT)
  if (args.includes('--check')) {
    const stale = await staleWorkerTypes()
    for (const p of stale) console.error(`stale: ${p}`)
    if (stale.length > 0) console.error('Run `npm run types` and commit the result.')
    return stale.length > 0 ? 1 : 0
  }
  for (const w of WORKER_TYPES) {
    writeFileSync(path.join(ROOT, w.path), await generatedTypes(w))
    console.log(`${w.path} (${w.envInterface}, from ${w.config})`)
  }
  return 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
