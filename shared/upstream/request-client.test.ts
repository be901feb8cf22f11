import { describe, expect, it } from 'vitest'
import { ProblemError } from '../http/problem'
import { clientForRequest, subrequestBudget } from './request-client'
import { json, scriptedFetch } from './test-helpers'

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
    expect(subrequestBudget({ SUBREQUEST_BUDGET: 'x' })).toBe(10_000)
    expect(subrequestBudget({})).toBe(10_000)
  })
})
