/**
 * @module
 * Whose access an upstream call uses: the server's token, or one client's own. Callers share a
 * Durable Object run or a cached answer only when this is the same, since a client's token may see
 * what the server's may not (or nothing at all, when the upstream rejects it).
 */
import { tokenFrom } from './token'

/** `server`, or `client:<64 hex digits>`: an HMAC-SHA256 of the client's token, never the token. */
export type UpstreamIdentity = 'server' | `client:${string}`

/** The Worker settings the identity reads (task Workers bind these names). */
export interface IdentitySettings {
  /**
   * Optional secret keying the hash of client tokens. Without it, the server's token keys it (a
   * secret every task Worker already holds); without that either, {@link FALLBACK_KEY}.
   */
  TOKEN_HASH_KEY?: string
  MAPILLARY_ACCESS_TOKEN?: string
}

/**
 * The HMAC key when no secret is configured (a local run where every client brings its own token).
 * The hash then still hides the token (it has too much entropy to guess), but anyone could compute
 * it from a token they hold; a secret key keeps even that to the Workers. Changing the key (or the
 * server token it falls back to) only renames identities: their cached answers are missed and expire.
 */
const FALLBACK_KEY = 'mly-edge upstream identity v1'

/**
 * The identity of a request: its `Authorization: OAuth MLY|…` token's (the same header rule as
 * {@link tokenFrom}), else the server's. Never throws: a request with no token at all is `server`
 * (and fails later, when it needs the upstream).
 *
 * @example
 * await requestIdentity(c.req.header('authorization'), c.env) // 'server' or 'client:9f2c…'
 */
export function requestIdentity(authorization: string | null | undefined, settings: IdentitySettings): Promise<UpstreamIdentity> {
  return upstreamIdentity(tokenFrom(authorization, undefined)?.token, settings)
}

/**
 * The identity of a call made with `clientToken`, or with the server's token when there is none.
 *
 * @example
 * await upstreamIdentity(undefined, env)          // 'server'
 * await upstreamIdentity('MLY|1|abc', env)        // 'client:' + 64 hex digits, the same every time
 */
export async function upstreamIdentity(clientToken: string | undefined, settings: IdentitySettings): Promise<UpstreamIdentity> {
  if (!clientToken) return 'server'
  const key = await hmacKey(settings.TOKEN_HASH_KEY || settings.MAPILLARY_ACCESS_TOKEN?.trim() || FALLBACK_KEY)
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(clientToken))
  return `client:${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * The identity as a cache-key part: absent for the server's (its keys stay as they were, shared
 * by every caller without a token), the identity itself for a client's.
 *
 * @example
 * await cacheKey('mf-images', { id, identity: identityPart(identity) })
 */
export function identityPart(identity: UpstreamIdentity): string | undefined {
  return identity === 'server' ? undefined : identity
}

/**
 * Whether a Durable Object name was made for a client's identity (a sweep's, or a part's of one):
 * such an object runs with its caller's token only, never the server's.
 *
 * @example
 * isClientName('seq:kx7r2u|id|px0')                  // false
 * isClientName(sweepName(params, 'client:9f2c…'))    // true
 */
export function isClientName(name: string | undefined): boolean {
  return name !== undefined && CLIENT_NAME.test(name)
}

const CLIENT_NAME = /\|client:[0-9a-f]{64}(?:#|$)/

// The key once per isolate and key text (importing it costs more than a short HMAC). The key itself
// is kept, not a pending promise: a promise of one request must not be awaited by another.
let imported: { text: string; key: CryptoKey } | undefined

async function hmacKey(text: string): Promise<CryptoKey> {
  if (imported?.text === text) return imported.key
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(text), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  imported = { text, key }
  return key
}
