/**
 * The upstream quota governor inside workerd: the sequence sweep's slices take a permit from the
 * governor object of their upstream identity (an auxiliary Worker here, bound across scripts as
 * in production) for every upstream fetch attempt, in batches. A client token of its own keeps the
 * counts this file's alone (its identity names its own governor object and its own sweep).
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { upstreamIdentity } from '../../../shared/upstream/identity'
import type { UpstreamGovernor } from '../../governor/src/index'
import { callWorker, standIn, sweepStub } from './support'

const CLIENT_TOKEN = 'MLY|7777|governor0runtime0test'

function governor(name: string) {
  return env.GOVERNOR.getByName(name) as unknown as DurableObjectStub<UpstreamGovernor>
}

describe('the upstream quota governor, in workerd', () => {
  it('grants a permit for every upstream attempt of a 250-image sweep, in far fewer object calls than attempts', async () => {
    const seq = (await standIn.sequences()).find((s) => s.length === 250)!
    const identity = await upstreamIdentity(CLIENT_TOKEN, env)
    const before = await governor(identity).status()
    // value: detections the stand-in does not expand (its default), so one entity request per image.
    const res = await callWorker(`/v1/sequences/${seq.id}/detections?fields=id,value`, { headers: { authorization: `OAuth ${CLIENT_TOKEN}` } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { image_ids: string[] }
    expect(body.image_ids).toHaveLength(250)

    const progress = await sweepStub(seq.id, ['id', 'value'], false, identity).progress()
    const after = await governor(identity).status()
    const calls = after.counts.calls - before.counts.calls
    const granted = after.counts.granted.entity - before.counts.granted.entity
    // A batch read (/images) spends the search budget: at most the one probe of the expansion.
    const search = after.counts.granted.search - before.counts.granted.search
    console.log(`250-image sweep: ${progress.requests} upstream attempts in ${progress.slices.length} slices, ${calls} governor calls, ${granted} entity and ${search} search permits granted`)
    // the image ids, then one detections request per image
    expect(progress.requests).toBeGreaterThanOrEqual(251)
    expect(search).toBeLessThanOrEqual(1)
    // every attempt had its permit (a slice may leave a few of its batch unspent)
    expect(granted + search).toBeGreaterThanOrEqual(progress.requests)
    expect(granted).toBeLessThanOrEqual(progress.requests + 32 * progress.slices.length)
    // batched: at most one object call for every 5 upstream attempts (budget 20 a slice: asks of 8 and 12)
    expect(calls * 5).toBeLessThanOrEqual(progress.requests)
    // the server's own governor object was not asked for this client's work
    expect(identity).not.toBe('server')
  })
})
