import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'

it('runs inside workerd with the stand-in URL', async () => {
  expect(env.MAPILLARY_GRAPH_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  const res = await exports.default.fetch('https://x/healthz')
  expect(res.status).toBe(200)
})
