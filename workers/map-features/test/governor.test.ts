/**
 * The upstream quota governor's pause inside workerd: a box (a MapFeaturesSweep, whose cells are
 * tried once) asked while its caller's upstream identity is paused answers 503 with Retry-After
 * and sends nothing; other identities keep their own buckets. The pause is set the way a code 4
 * sets it (the governor's `report`), on an identity of this file's own.
 */
import { env } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import type { UpstreamGovernor } from '../../governor/src/index'

const PAUSED_TOKEN = 'MLY|8888|governor0paused0identity'
// The sparse district's box, a few nanodegrees off so that no other test's answer is cached for it.
const BOX = '12.98500003,55.585,13.015,55.615'

function governor(name: string) {
  return env.GOVERNOR.getByName(name) as unknown as DurableObjectStub<UpstreamGovernor>
}

describe('the upstream quota governor’s pause, in workerd', () => {
  it('answers 503 upstream_rate_limited with the pause as Retry-After while the caller’s identity is paused; the server’s is not', async () => {
    const identity = await upstreamIdentity(PAUSED_TOKEN, env)
    const before = await governor(identity).status()
    const paused = await governor(identity).report(120)
    expect(paused.pausedMs).toBeGreaterThan(119_000)

    const res = await exports.default.fetch(`https://mf.test/v1/map-features?bbox=${BOX}`, { headers: { authorization: `OAuth ${PAUSED_TOKEN}` } })
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(110)
    expect(retryAfter).toBeLessThanOrEqual(120)
    const body = (await res.json()) as { code: string; retry_after: number; detail: string }
    expect(body).toMatchObject({ code: 'upstream_rate_limited', retry_after: retryAfter })
    expect(body.detail).toMatch(/pacing/)
    expect(JSON.stringify(body)).not.toContain('MLY|')
    const after = await governor(identity).status()
    // refused without a permit: nothing was sent upstream for it
    expect(after.counts.granted.search - before.counts.granted.search).toBe(0)
    expect(after.counts.reports - before.counts.reports).toBe(1)

    // the server's identity has its own bucket and no pause
    const server = await exports.default.fetch(`https://mf.test/v1/map-features?bbox=${BOX}`)
    expect(server.status).toBe(200)
    expect(((await server.json()) as { type: string }).type).toBe('FeatureCollection')
  })
})
