/**
 * Callers with different upstream identities (the server's token, or one client's own token)
 * never share a Durable Object run nor a cached answer fetched with a token: the regression of a
 * caller with a rejected token making an innocent caller's answer a 401.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { tokenHash } from './stand-in/src/stats'
import { SERVER_TOKEN, useSystem } from './support/system'
import { expectProblem } from './support/problem'

const t = useSystem()
afterEach(() => t.sys.sandboxControl.reset())

/** A client token the stand-in refuses (see `rejectTokens`), though it looks like any other. */
const BAD = 'MLY|31337|0badc0de0badc0de0badc0de0badc0de'
const A = 'MLY|1001|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const B = 'MLY|1002|bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
const as = (token: string | undefined): RequestInit => (token ? { headers: { authorization: `OAuth ${token}` } } : {})

const district = (name: string) => t.world.districts.find((d: any) => d.name.includes(name))
const ids = (fc: any): string[] => fc.features.map((f: any) => f.id).sort()
/** The sparse suburb grown north by `k` nanodegrees: a new question (object, key), the same features. */
const nudged = (k: number): string => {
  const [w, s, e, n] = district('sparse').bbox as number[]
  return [w, s, e, n! + k * 1e-9].join(',')
}
const seq50 = () => t.world.sequences.find((s: any) => s.length === 50)

/** What the stand-in answers with the server's token, straight. */
async function upstream(path: string): Promise<any> {
  const res = await fetch(new URL(path, t.sys.upstream), as(SERVER_TOKEN))
  expect(res.status).toBe(200)
  return res.json()
}

const requests = async () => (await t.sys.sandboxControl.stats()).requests

/** `path` for `token`: its status, its `x-cache`, and how many upstream requests it caused. */
async function ask(path: string, token: string | undefined) {
  const before = await requests()
  const res = await t.sys.json(path, as(token))
  expect(res.status, `${path}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(200)
  return { body: res.body, cache: res.headers.get('x-cache'), upstream: (await requests()) - before }
}

describe('a caller with a rejected token and one without a token, at the same moment', () => {
  it('box: the innocent caller gets the truth, the other 401, every time', async () => {
    for (let k = 1; k <= 4; k++) {
      await t.sys.sandboxControl.config({ rejectTokens: [tokenHash(BAD)], latencyMs: 40 })
      const bbox = nudged(k)
      const path = `/v1/map-features?bbox=${bbox}`
      const ask2 = [t.sys.json(path, as(BAD)), t.sys.json(path)]
      // Either may arrive first.
      const [bad, innocent] = k % 2 ? await Promise.all(ask2) : (await Promise.all(ask2.reverse())).reverse()
      expect(innocent!.status, `try ${k}: ${JSON.stringify(innocent!.body).slice(0, 300)}`).toBe(200)
      expect(ids(innocent!.body)).toEqual((await t.sys.sandboxControl.truthIds(bbox)).sort())
      expectProblem(bad!, 401, 'invalid_token')
      // The rejected answer is not cached for anyone: the innocent caller's is, for callers without a token.
      expect((await t.sys.json(path)).headers.get('x-cache')).toBe('hit')
      expectProblem(await t.sys.json(path, as(BAD)), 401, 'invalid_token')
    }
  })

  it('sequence: the innocent caller gets the truth, the other 401, every time', async () => {
    const seq = seq50()
    const truthIds = (await upstream(`/image_ids?sequence_id=${seq.id}`)).data.map((d: any) => d.id)
    for (const [k, fields] of ['value', 'created_at', 'image', 'created_at,value'].entries()) {
      await t.sys.sandboxControl.config({ rejectTokens: [tokenHash(BAD)], latencyMs: 20 })
      const path = `/v1/sequences/${seq.id}/detections?fields=${fields}`
      const ask2 = [t.sys.json(path, as(BAD)), t.sys.json(path)]
      const [bad, innocent] = k % 2 ? await Promise.all(ask2) : (await Promise.all(ask2.reverse())).reverse()
      expect(innocent!.status, `fields=${fields}: ${JSON.stringify(innocent!.body).slice(0, 300)}`).toBe(200)
      expect(innocent!.body.image_ids).toEqual(truthIds)
      expect(Object.keys(innocent!.body.detections).sort()).toEqual([...truthIds].sort())
      for (const img of [truthIds[0], truthIds[25], truthIds[49]]) {
        expect(innocent!.body.detections[img]).toEqual((await upstream(`/${img}/detections?fields=id,${fields}`)).data)
      }
      expectProblem(bad!, 401, 'invalid_token')
    }
  })
})

describe('answers fetched with a client token are that client’s only', () => {
  it('box: not served to another client nor to a caller without a token; served to the same client again', async () => {
    const path = `/v1/map-features?bbox=${nudged(100)}`
    const first = await ask(path, A)
    expect(first.cache).toBe('miss')
    expect(first.upstream).toBeGreaterThan(0)
    for (const other of [B, undefined]) {
      const res = await ask(path, other)
      expect(res.cache, `for ${other ?? 'no token'}`).toBe('miss')
      expect(res.upstream, `for ${other ?? 'no token'}`).toBeGreaterThan(0)
      expect(ids(res.body)).toEqual(ids(first.body))
    }
    const again = await ask(path, A)
    expect(again.cache).toBe('hit')
    expect(again.upstream).toBe(0)
    expect(ids(again.body)).toEqual(ids(first.body))
    expect((await t.sys.sandboxControl.stats()).tokensSeen.sort()).toEqual([tokenHash(A), tokenHash(B), tokenHash(SERVER_TOKEN)].sort())
  })

  it('sequence: the same', async () => {
    const path = `/v1/sequences/${seq50().id}/detections?fields=id,value&pixels=true`
    const first = await ask(path, A)
    expect(first.cache).toBe('miss')
    expect(first.upstream).toBeGreaterThan(0)
    for (const other of [B, undefined]) {
      const res = await ask(path, other)
      expect(res.cache, `for ${other ?? 'no token'}`).toBe('miss')
      expect(res.upstream, `for ${other ?? 'no token'}`).toBeGreaterThan(0)
      expect(res.body).toEqual(first.body)
    }
    const again = await ask(path, A)
    expect(again.cache).toBe('hit')
    expect(again.upstream).toBe(0)
  })

  it('server-token answers are shared by every caller without a token, and not served to a client', async () => {
    for (const path of [`/v1/map-features?bbox=${nudged(200)}`, `/v1/sequences/${seq50().id}/detections?fields=created_at,id`]) {
      const first = await ask(path, undefined)
      expect(first.cache, path).toBe('miss')
      const second = await ask(path, undefined)
      expect(second.cache, path).toBe('hit')
      expect(second.upstream, path).toBe(0)
      expect(second.body).toEqual(first.body)
      const client = await ask(path, A)
      expect(client.cache, path).toBe('miss')
      expect(client.upstream, path).toBeGreaterThan(0)
    }
  })

  it('image detections, a map feature’s detections and its images: keyed by identity, fetched with the caller’s token', async () => {
    const paths = [
      `/v1/images/${t.world.sampleImages.multipolygonWithHoles}/detections`,
      `/v1/map-features/${t.world.sampleMapFeatures.seenInSeveralImages}/detections`,
      `/v1/map-features/${t.world.sampleMapFeatures.seenInSeveralImages}/images`,
    ]
    for (const path of paths) {
      await t.sys.sandboxControl.reset()
      const first = await ask(path, A)
      expect(first.cache, path).toBe('miss')
      expect((await t.sys.sandboxControl.stats()).tokensSeen, path).toEqual([tokenHash(A)])
      const b = await ask(path, B)
      expect(b.cache, path).toBe('miss')
      expect(b.upstream, path).toBeGreaterThan(0)
      expect((await t.sys.sandboxControl.stats()).tokensSeen, path).toEqual([tokenHash(A), tokenHash(B)])
      const none = await ask(path, undefined)
      expect(none.cache, path).toBe('miss')
      expect(none.upstream, path).toBeGreaterThan(0)
      expect((await t.sys.sandboxControl.stats()).tokensSeen, path).toEqual([tokenHash(A), tokenHash(B), tokenHash(SERVER_TOKEN)])
      for (const token of [A, B, undefined]) {
        const again = await ask(path, token)
        expect(again.cache, `${path} again for ${token ?? 'no token'}`).toBe('hit')
        expect(again.upstream).toBe(0)
      }
      // Thumbnail URLs carry their own expiry: compare the rest.
      const strip = (body: any) => JSON.parse(JSON.stringify(body).replace(/"thumb_original_url":"[^"]*"/g, '"thumb_original_url":""'))
      expect(strip(b.body)).toEqual(strip(first.body))
      expect(strip(none.body)).toEqual(strip(first.body))
    }
  })
})
