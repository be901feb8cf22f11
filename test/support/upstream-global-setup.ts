/**
 * Starts the Graph API stand-in once for a runtime test project and hands its origin to the
 * Worker under test as `MAPILLARY_GRAPH_URL` (see vitest.config.ts).
 */
import { createTestHarness } from 'wrangler'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string
  }
}

export default async function setup(project: TestProject) {
  const sandbox = createTestHarness({ workers: [{ configPath: 'test/stand-in/wrangler.toml' }] })
  const { url } = await sandbox.listen()
  project.provide('upstreamUrl', url.origin)
  return async () => {
    await sandbox.close()
  }
}
