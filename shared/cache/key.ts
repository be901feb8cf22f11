/**
 * @module
 * Cache keys: `<kind>:v1:<sha256 of the canonical parts>`, short, stable and credential-free.
 */

import { KV_LIMITS } from './kv'

export type KeyParts = Record<string, string | number | boolean | undefined>

const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/
// What a Mapillary token looks like; a key must never be derivable from one (docs/api-v1.md).
const TOKEN = /MLY\|/i
const VERSION = 'v1'

/**
 * Key for `kind` and `parts`: insertion order and undefined parts don't matter, so the same
 * question always lands on the same key. Bump `v1` when a value shape changes.
 * Throws if any part (or name) looks like a token.
 *
 * @example
 * await cacheKey('img-detections', { id: '315219450124680' })
 * // 'img-detections:v1:3b1f…' (64 hex digits)
 */
export async function cacheKey(kind: string, parts: KeyParts): Promise<string> {
  if (!KIND.test(kind)) throw new TypeError(`cacheKey: kind must match ${KIND}`)
  const entries = Object.entries(parts)
    .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [k, v] of entries) {
    // Name the part, never echo the value: the value may be the token.
    if (TOKEN.test(k)) throw new TypeError('cacheKey: a part name looks like an access token; tokens never go in cache keys')
    if (typeof v === 'string' && TOKEN.test(v)) throw new TypeError(`cacheKey: part '${k}' looks like an access token; tokens never go in cache keys`)
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`cacheKey: part '${k}' is not a finite number`)
  }
  const canonical = JSON.stringify(Object.fromEntries(entries))
  const key = `${kind}:${VERSION}:${await sha256Hex(canonical)}`
  // kind ≤ 64 + 4 + 64 hex: always far below KV's 512 bytes; asserted so a format change can't slip.
  if (key.length > KV_LIMITS.maxKeyBytes) throw new RangeError('cacheKey: key too long')
  return key
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
