/**
 * @module
 * API keys: which key a request sends, its SHA-256 hash (the only form ever stored), and its record.
 *
 * A key travels as `Authorization: Bearer <key>` or `X-API-Key: <key>`. A client's own Mapillary
 * token travels as `Authorization: OAuth MLY|…` (or `Bearer MLY|…`): a value starting with `MLY|`
 * is never taken for a key. To send both, put the key in `X-API-Key`.
 */

/** What `npm run key -- create` prints: `mlyk_` and 43 base64url characters (256 random bits). */
export const API_KEY_PATTERN = /^mlyk_[A-Za-z0-9_-]{43}$/

/** A key's record in the API_KEYS namespace, under `key:<sha256 hex>` (scripts/key.mjs writes it). */
export interface ApiKeyRecord {
  /** Short public id (the first 12 hex digits of the hash): names the key in logs and limits. */
  id: string
  name: string
  /** Points per window for this key; the RATE_LIMIT_KEY default when absent. */
  limit?: number
  created_at?: string
}

/**
 * The API key a request sends, `undefined` when it sends none, or `'malformed'` when an
 * `X-API-Key` (or a `Bearer` value that is no Mapillary token) is not a key's shape.
 *
 * @example
 * sentKey(new Headers({ authorization: 'Bearer mlyk_…' }))      // 'mlyk_…'
 * sentKey(new Headers({ authorization: 'OAuth MLY|1|abc' }))    // undefined (a Mapillary token)
 */
export function sentKey(headers: Headers): string | 'malformed' | undefined {
  const header = headers.get('x-api-key')
  if (header !== null) return API_KEY_PATTERN.test(header.trim()) ? header.trim() : 'malformed'
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')
  if (!m?.[1] || m[1].toUpperCase().startsWith('MLY|')) return undefined
  return API_KEY_PATTERN.test(m[1]) ? m[1] : 'malformed'
}

/**
 * The KV key a key's record lives under: `key:` and the SHA-256 of the key in hex.
 * @example await keyRecordName('mlyk_…') // 'key:9f86d081…'
 */
export async function keyRecordName(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return `key:${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * The record of `key`, or null when no such key exists (never made, or revoked). Cached at the
 * edge for a minute (KV's `cacheTtl`): a revoked key may still pass there for that long.
 */
export async function findKey(kv: KVNamespace, key: string): Promise<ApiKeyRecord | null> {
  const record = await kv.get<ApiKeyRecord>(await keyRecordName(key), { type: 'json', cacheTtl: 60 })
  return record && typeof record.id === 'string' ? record : null
}

/**
 * The headers a task Worker gets: the request's, less the API key (its `X-API-Key`, or an
 * `Authorization` that is not a Mapillary token), plus our `x-request-id`.
 *
 * @example
 * forwardedHeaders(new Headers({ authorization: 'Bearer mlyk_…', accept: '*\/*' }), 'r1')
 * // Headers { accept: '*\/*', 'x-request-id': 'r1' }
 */
export function forwardedHeaders(headers: Headers, requestId: string): Headers {
  const out = new Headers(headers)
  out.delete('x-api-key')
  const auth = out.get('authorization')
  if (auth !== null && !/^\s*(?:oauth|bearer)\s+MLY\|/i.test(auth)) out.delete('authorization')
  out.set('x-request-id', requestId)
  return out
}
