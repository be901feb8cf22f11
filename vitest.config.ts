import { defineConfig } from 'vitest/config'
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { governorWorker } from './test/support/governor-worker.ts'

// Three kinds of tests:
// - unit: the pure pieces in shared/ and the Workers, the Graph API stand-in (test/stand-in), the
//   test support's own tools, and each Worker's generated Env being current (scripts/), in Node;
// - runtime: a task Worker inside workerd (its real KV, Durable Objects, env) with the stand-in over HTTP;
// - e2e: the whole product (gateway + task Workers on workerd) against the stand-in, as a user calls it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['shared/**/*.test.ts', 'workers/gateway/src/**/*.test.ts', 'workers/embed/src/**/*.test.ts', 'workers/jobs/src/**/*.test.ts', 'test/stand-in/src/**/*.test.ts', 'test/support/**/*.test.ts', 'scripts/**/*.test.ts'],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './workers/map-features/wrangler.toml' },
            miniflare: {
              bindings: {
                MAPILLARY_GRAPH_URL: inject<string>('upstreamUrl'),
                MAPILLARY_ACCESS_TOKEN: 'MLY|4242424242|0123456789abcdef0123456789abcdef',
                // Far below production's 45, so the dense district (about 20 requests) needs several slices.
                SUBREQUEST_BUDGET: '8',
              },
              // The upstream quota governor the task Worker binds across scripts (GOVERNOR).
              workers: [governorWorker()],
            },
          })),
        ],
        test: {
          name: 'runtime-map-features',
          include: ['workers/map-features/test/**/*.test.ts'],
          globalSetup: ['test/support/upstream-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './workers/sequence-detections/wrangler.toml' },
            miniflare: {
              bindings: {
                MAPILLARY_GRAPH_URL: inject<string>('upstreamUrl'),
                MAPILLARY_ACCESS_TOKEN: 'MLY|4242424242|0123456789abcdef0123456789abcdef',
                // Below the deployed 45 so that even short sequences need several slices.
                SUBREQUEST_BUDGET: '20',
                // The 1250-image sequence is split across 4 child objects; 250 images and fewer stay
                // in one, so the eviction and failure tests watch one object's slices.
                MIN_ITEMS_PER_SHARD: '300',
              },
              // The upstream quota governor the task Worker binds across scripts (GOVERNOR).
              workers: [governorWorker()],
            },
          })),
        ],
        test: {
          name: 'runtime-sequence-detections',
          include: ['workers/sequence-detections/test/**/*.test.ts'],
          globalSetup: ['test/support/upstream-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './test/engine/wrangler.toml' },
            miniflare: {
              bindings: {
                MAPILLARY_GRAPH_URL: inject<string>('upstreamUrl'),
                MAPILLARY_ACCESS_TOKEN: 'MLY|4242424242|0123456789abcdef0123456789abcdef',
              },
              // The upstream quota governor the task Worker binds across scripts (GOVERNOR).
              workers: [governorWorker()],
            },
          })),
        ],
        test: {
          name: 'runtime-engine',
          include: ['test/engine/**/*.test.ts'],
          globalSetup: ['test/support/upstream-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // The two Workers of a map feature's images (and detections) inside workerd: their real KV and
      // the expiration it keeps for each kind of answer, and their job objects' slices.
      ...(['detection-geometry', 'feature-images'] as const).map((worker) => ({
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: `./workers/${worker}/wrangler.toml` },
            miniflare: {
              bindings: {
                MAPILLARY_GRAPH_URL: inject<string>('upstreamUrl'),
                MAPILLARY_ACCESS_TOKEN: 'MLY|4242424242|0123456789abcdef0123456789abcdef',
                // Far below production's 45, so a feature seen in a few dozen images takes several slices per object.
                SUBREQUEST_BUDGET: '10',
              },
              // The upstream quota governor the task Worker binds across scripts (GOVERNOR).
              workers: [governorWorker()],
            },
          })),
        ],
        test: {
          name: `runtime-${worker}`,
          include: [`workers/${worker}/test/**/*.test.ts`],
          globalSetup: ['test/support/upstream-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      })),
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          // Not end to end: the engine runs in workerd (runtime-engine), the rest in Node (unit).
          exclude: ['test/engine/**', 'test/stand-in/**', 'test/support/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
