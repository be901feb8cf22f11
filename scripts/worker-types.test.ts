import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { generatedTypes, ROOT, WORKER_TYPES } from './worker-types'

describe('each Worker’s generated Env (npm run types)', () => {
  for (const w of WORKER_TYPES) {
    it(`${w.path} is what wrangler types writes from ${w.config} now`, async () => {
      const current = readFileSync(path.join(ROOT, w.path), 'utf8')
      // On a difference: run `npm run types` and commit the result.
      expect(current, `${w.path} is stale: run npm run types`).toBe(await generatedTypes(w))
    }, 30_000)
  }

  it('covers every Worker with a config under workers/, and the gateway', () => {
    const configs = readdirSync(path.join(ROOT, 'workers'))
      .map((d) => `workers/${d}/wrangler.toml`)
      .filter((c) => existsSync(path.join(ROOT, c)))
    expect(WORKER_TYPES.map((w) => w.config).sort()).toEqual(['wrangler.toml', ...configs].sort())
  })

  it('is extended by the Worker’s Env, under its own interface name', () => {
    for (const w of WORKER_TYPES) {
      const env = readFileSync(path.join(ROOT, path.dirname(w.path), 'env.ts'), 'utf8')
      expect(env, w.path).toMatch(new RegExp(`export interface Env extends ${w.envInterface}\\b`))
    }
  })
})
