import { describe, expect, it } from 'vitest'
import { ProblemError } from '../problem/problem'
import { clientForRequest, noTokenProblem, sliceClient, subrequestBudget } from './request-client'
import { json, scriptedFetch } from '../../test/support/scripted-fetch'
import type { UpstreamError } from './errors'
import { upstreamIdentity } from './identity'
import { upstreamProblem } from './to-problem'

describe('clientForRequest', () => {
  it('uses the client header over the server token and the env budget', async () => {
    const f = scriptedFetch([json(200, {})])
    const client = clientForRequest({ MAPILLARY_GRAPH_URL: 'http://g/', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', SUBREQUEST_BUDGET: '1' }, 'OAuth MLY|cli', { fetch: f.fetch })
    expect(client.tokenSource).toBe('client')
    await client.get('/1')
    expect(f.calls[0]!.headers.get('authorization')).toBe('OAuth MLY|cli')
    expect(f.calls[0]!.url).toBe('http://g/1')
    await expect(client.get('/2')).rejects.toMatchObject({ reason: 'budget_exhausted' })
  })

  it('throws an upstream_auth problem with no token at all', () => {
    try {
      clientForRequest({}, undefined)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ProblemError)
      expect((e as ProblemError).problem).toMatchObject({ status: 502, code: 'upstream_auth' })
    }
  })

  it('reads SUBREQUEST_BUDGET, defaulting on junk', () => {
    expect(subrequestBudget({ SUBREQUEST_BUDGET: '50' })).toBe(50)
    // Unset or junk: the free plan's 50 less room for anything else (README, Configuration).
    expect(subrequestBudget({ SUBREQUEST_BUDGET: 'x' })).toBe(45)
    expect(subrequestBudget({})).toBe(45)
  })
})

describe('sliceClient', () => {
  it('uses the running job caller\'s token over the server\'s, null with neither', async () => {
    const f = scriptedFetch([json(200, {}), json(200, {})])
    const settings = { MAPILLARY_GRAPH_URL: 'http://g', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', SUBREQUEST_BUDGET: '5' }
    const own = sliceClient(settings, 'MLY|cli', { fetch: f.fetch })!
    expect(own.tokenSource).toBe('client')
    await own.get('/1')
    const server = sliceClient(settings, undefined, { fetch: f.fetch })!
    expect(server.tokenSource).toBe('server')
    await server.get('/2')
    expect(f.calls.map((c) => c.headers.get('authorization'))).toEqual(['OAuth MLY|cli', 'OAuth MLY|srv'])
    expect(sliceClient({}, undefined)).toBeNull()
  })
})

// Found by mutation testing (`npm run mutate`).
describe('request clients, pinned', () => {
  it('go to the real Graph API when no URL is configured', async () => {
    const f = scriptedFetch([json(200, {})])
    await clientForRequest({ MAPILLARY_ACCESS_TOKEN: 'MLY|srv' }, undefined, { fetch: f.fetch }).get('/1')
    expect(f.calls[0]!.url).toBe('https://graph.mapillary.com/1')
  })

  it('take the default budget for 0, a negative or an infinite SUBREQUEST_BUDGET, and whole budgets only', () => {
    expect(['0', '-5', 'Infinity', ''].map((b) => subrequestBudget({ SUBREQUEST_BUDGET: b }))).toEqual([45, 45, 45, 45])
    expect(subrequestBudget({ SUBREQUEST_BUDGET: '1' })).toBe(1)
    expect(subrequestBudget({ SUBREQUEST_BUDGET: '7.9' })).toBe(7)
  })

  it('say how to send a token when there is none', () => {
    expect(noTokenProblem()).toMatchObject({
      code: 'upstream_auth',
      detail: 'No Mapillary access token: the server has none configured and the request sent none (Authorization: OAuth MLY|…).',
    })
  })
})

describe('every client built here is governed (GOVERNOR)', () => {
  function governor() {
    const names: string[] = []
    const asked: [string, string, number][] = []
    const ns = {
      getByName(name: string) {
        names.push(name)
        return {
          acquire: async (kind: string, count: number) => {
            asked.push([name, kind, count])
            return { granted: count, holdMs: 10_000, waitMs: 0, pausedMs: 0 }
          },
          report: async () => ({ granted: 0, holdMs: 10_000, waitMs: 0, pausedMs: 0 }),
        }
      },
    }
    return { ns, names, asked }
  }

  it('takes the server’s permits from the object named server, and a client token’s from its keyed hash, never the token', async () => {
    const g = governor()
    const f = scriptedFetch([json(200, {})])
    const settings = { MAPILLARY_GRAPH_URL: 'http://g/', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', TOKEN_HASH_KEY: 'k', GOVERNOR: g.ns }
    await clientForRequest(settings, undefined, { fetch: f.fetch }).get('/1')
    await clientForRequest(settings, 'OAuth MLY|cli', { fetch: f.fetch }).get('/map_features', { bbox: '1,2,3,4' })
    await sliceClient(settings, 'MLY|cli', { fetch: f.fetch })!.get('/2')
    const clientName = await upstreamIdentity('MLY|cli', settings)
    expect(g.names).toEqual(['server', clientName, clientName])
    expect(clientName).toMatch(/^client:[0-9a-f]{64}$/)
    // a request's client asks for 2 entity permits at first (1 search), a sweep slice's for 8
    expect(g.asked).toEqual([
      ['server', 'entity', 2],
      [clientName, 'search', 1],
      [clientName, 'entity', 8],
    ])
    expect(f.calls).toHaveLength(3)
  })

  it('asks a slice’s first permits as its caller says: a helper’s six search requests in one governor call', async () => {
    const g = governor()
    const f = scriptedFetch(Array.from({ length: 6 }, () => json(200, { data: [] })))
    const settings = { MAPILLARY_GRAPH_URL: 'http://g/', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', GOVERNOR: g.ns }
    const client = sliceClient(settings, undefined, { fetch: f.fetch, subrequestBudget: 12 }, { search: 6 })!
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.get('/map_features', { bbox: `${i},0,${i + 1},1` })))
    expect(g.asked).toEqual([['server', 'search', 6]])
    // Without it, a slice's search permits come 1, 2, 4…: three calls for the same six.
    const h = governor()
    const plain = sliceClient({ ...settings, GOVERNOR: h.ns }, undefined, { fetch: scriptedFetch(Array.from({ length: 6 }, () => json(200, { data: [] }))).fetch, subrequestBudget: 12 })!
    await Promise.all(Array.from({ length: 6 }, (_, i) => plain.get('/map_features', { bbox: `${i},0,${i + 1},1` })))
    expect(h.asked).toEqual([['server', 'search', 1], ['server', 'search', 2], ['server', 'search', 4]])
  })

  it('asks for no more permits than the invocation’s budget', async () => {
    const g = governor()
    const f = scriptedFetch([json(200, {})])
    const client = sliceClient({ MAPILLARY_GRAPH_URL: 'http://g/', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', GOVERNOR: g.ns }, undefined, { fetch: f.fetch, subrequestBudget: 1 })!
    await client.get('/1')
    expect(g.asked).toEqual([['server', 'entity', 1]])
  })

  it('answers 503 upstream_rate_limited with the governor’s wait when it has no permit in time', async () => {
    const ns = { getByName: () => ({ acquire: async () => ({ granted: 0, holdMs: 10_000, waitMs: 40_000, pausedMs: 40_000 }), report: async () => ({ granted: 0, holdMs: 0, waitMs: 0, pausedMs: 0 }) }) }
    const f = scriptedFetch([json(200, {})])
    const client = clientForRequest({ MAPILLARY_GRAPH_URL: 'http://g/', MAPILLARY_ACCESS_TOKEN: 'MLY|srv', GOVERNOR: ns }, undefined, { fetch: f.fetch })
    const e = await client.get('/1').catch((x: unknown) => x)
    expect(e).toMatchObject({ reason: 'rate_limited', retryAfterSeconds: 40, paced: true })
    expect(upstreamProblem(e as UpstreamError, 'server')).toMatchObject({ problem: { status: 503, code: 'upstream_rate_limited', retry_after: 40 }, headers: { 'retry-after': '40' } })
    expect(f.calls).toHaveLength(0)
  })
})
