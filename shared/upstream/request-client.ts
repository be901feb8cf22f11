/**
 * @module
 * One upstream client per incoming request: the server's settings plus the caller's own token,
 * when it sent one.
 */
import { problem, ProblemError, type Problem } from '../problem/problem'
import { GraphClient, tokenFrom, type GraphClientOptions } from './client'
import { upstreamIdentity } from './identity'
import { GovernedPermits, type GovernorStub, type PermitKind } from './permits'

/**
 * The quota governor's Durable Object namespace as a task Worker binds it (`GOVERNOR`, class
 * `UpstreamGovernor` of mly-governor), typed structurally: shared/ holds no binding.
 */
export interface GovernorNamespace {
  getByName(name: string): object
}

/** The Worker settings the upstream client reads (all task Workers bind these names). */
export interface UpstreamSettings {
  MAPILLARY_GRAPH_URL?: string
  MAPILLARY_ACCESS_TOKEN?: string
  /** Upstream fetch attempts one invocation may make; unset: {@link DEFAULT_SUBREQUEST_BUDGET}. */
  SUBREQUEST_BUDGET?: string
  /** Keys the hash naming a client token's governor object (identity.ts). */
  TOKEN_HASH_KEY?: string
  /** The upstream quota governor; absent (a test Worker that binds none): no pacing. */
  GOVERNOR?: GovernorNamespace
}

/**
 * What a task Worker reads that its wrangler.toml does not declare, so `wrangler types` cannot
 * generate it: the secrets (`wrangler secret put`) and the budget, left at its default. Each task
 * Worker's `Env` (src/env.ts) adds these to its generated bindings.
 */
export interface UndeclaredTaskSettings {
  /**
   * Secret: the server's Mapillary token (`MLY|…`). A client's own `Authorization: OAuth MLY|…`
   * header takes its place for that request; with neither, a request needing the upstream is refused.
   */
  MAPILLARY_ACCESS_TOKEN?: string
  /** Optional secret keying the hash that names a client token's identity (identity.ts). */
  TOKEN_HASH_KEY?: string
  /** Upstream fetch attempts one invocation may make; unset: {@link DEFAULT_SUBREQUEST_BUDGET}. */
  SUBREQUEST_BUDGET?: string
}

export const DEFAULT_GRAPH_URL = 'https://graph.mapillary.com'

/**
 * Upstream fetch attempts (retries included) one invocation may make when `SUBREQUEST_BUDGET` is
 * unset: the free plan allows 50 external subrequests per invocation, and 45 keeps room for
 * anything else the invocation fetches. Every Worker uses it (no wrangler.toml sets the var); on a
 * paid plan raise `SUBREQUEST_BUDGET` with `limits.subrequests` for fewer, larger slices.
 */
export const DEFAULT_SUBREQUEST_BUDGET = 45

/**
 * `SUBREQUEST_BUDGET` (its whole part) when above 0, else {@link DEFAULT_SUBREQUEST_BUDGET}.
 * @example subrequestBudget({}) // 45
 */
export function subrequestBudget(settings: UpstreamSettings): number {
  const n = Number(settings.SUBREQUEST_BUDGET)
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : DEFAULT_SUBREQUEST_BUDGET
}

/** The problem when neither the server nor the caller has a token. */
export function noTokenProblem(): Problem {
  return problem('upstream_auth', 'No Mapillary access token: the server has none configured and the request sent none (Authorization: OAuth MLY|…).')
}

/**
 * The problem when a run for a client's identity lost the client's token (it lives in the object's
 * memory only, and the object restarted): it never goes on with the server's token instead. The
 * same caller asking again brings the token back and resumes the work.
 */
export function tokenLostProblem(): Problem {
  return problem('job_interrupted', 'The work for your request was interrupted and lost the token of your Authorization header, which is kept in memory only; ask again to resume it.')
}

/** The caller's own token, else the server's; throws the `upstream_auth` problem when neither. */
export function requireToken(authorization: string | null | undefined, serverToken: string | undefined): { token: string; source: 'server' | 'client' } {
  const auth = tokenFrom(authorization, serverToken)
  if (!auth) throw new ProblemError(noTokenProblem())
  return auth
}

/**
 * A client for one incoming request: the caller's token, else the server's; the invocation's budget.
 * @example
 * const client = clientForRequest(c.env, c.req.header('authorization'))
 * const ids = await client.get('/image_ids', { sequence_id })
 */
export function clientForRequest(
  settings: UpstreamSettings,
  authorization: string | null | undefined,
  overrides: Partial<GraphClientOptions> = {},
): GraphClient {
  return build(settings, requireToken(authorization, settings.MAPILLARY_ACCESS_TOKEN), overrides)
}

/**
 * A client for one slice of a sweep object: the token of the caller whose job is running (kept in
 * the object's memory only), else the server's; null when there is neither.
 * @example
 * const client = sliceClient(this.env, this.#clientToken, { maxAttempts: 3 })
 * const helper = sliceClient(this.env, token, { subrequestBudget: 12 }, { search: 6, entity: 6 }) // 6 units: their permits in one ask
 */
export function sliceClient(settings: UpstreamSettings, clientToken: string | undefined, overrides: Partial<GraphClientOptions> = {}, firstAsk: Partial<Record<PermitKind, number>> = {}): GraphClient | null {
  const auth = tokenFrom(clientToken ? `OAuth ${clientToken}` : undefined, settings.MAPILLARY_ACCESS_TOKEN)
  // A slice means to spend its budget: its entity permits come in fewer, larger batches. Not its
  // search permits: a sparse box is one search request, and a permit taken but not spent is lost.
  // A caller that knows what it will spend (a helper's few units) asks for it all at once.
  return auth ? build(settings, auth, overrides, { ...SLICE_FIRST_ASK, ...firstAsk }) : null
}

/** A sweep slice's first ask for permits (a request's is 2: most requests make one or two fetches). */
const SLICE_FIRST_ASK = { entity: 8 }

function build(settings: UpstreamSettings, auth: { token: string; source: 'server' | 'client' }, overrides: Partial<GraphClientOptions>, firstAsk?: Partial<Record<PermitKind, number>>): GraphClient {
  const budget = overrides.subrequestBudget ?? subrequestBudget(settings)
  return new GraphClient({
    baseUrl: settings.MAPILLARY_GRAPH_URL || DEFAULT_GRAPH_URL,
    token: auth.token,
    tokenSource: auth.source,
    subrequestBudget: budget,
    ...governedBy(settings, auth, { limit: budget, ...(firstAsk ? { firstAsk } : {}) }, overrides.maxRetryAfterSeconds),
    ...overrides,
  })
}

/** Longest a fetch waits for a permit inside one invocation before its caller gets 503 + Retry-After. */
export const MAX_PERMIT_WAIT_MS = 5000

/**
 * Every client built here takes its permits from the governor object of its upstream identity
 * (`server`, or `client:<hash>`: a client's token gets its own bucket, named never by the token).
 */
function governedBy(settings: UpstreamSettings, auth: { token: string; source: 'server' | 'client' }, batches: { limit: number; firstAsk?: Partial<Record<PermitKind, number>> }, maxRetryAfterSeconds: number | undefined): Pick<GraphClientOptions, 'permits'> {
  const governor = settings.GOVERNOR
  if (!governor) return {}
  let named: Promise<GovernorStub> | undefined
  const stub = () => (named ??= upstreamIdentity(auth.source === 'client' ? auth.token : undefined, settings).then((identity) => governor.getByName(identity) as unknown as GovernorStub))
  const maxWaitMs = Math.min(MAX_PERMIT_WAIT_MS, (maxRetryAfterSeconds ?? Infinity) * 1000)
  return { permits: new GovernedPermits(stub, { ...batches, maxWaitMs }) }
}
