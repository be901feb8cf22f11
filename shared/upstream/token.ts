/**
 * @module
 * Which upstream token serves a request: the client's own, else the server's.
 */

// `OAuth` is what Graph documents; `Bearer` is what most HTTP clients send by habit.
const HEADER = /^\s*(?:oauth|bearer)\s+(MLY\|[\x21-\x7e]+)\s*$/i

/**
 * Picks the token for a request's upstream calls. A client's `Authorization: OAuth MLY|…` (or
 * `Bearer MLY|…`) header wins; anything else in that header is ignored in favour of the server's.
 *
 * @example
 * tokenFrom('OAuth MLY|123|abc', env.MAPILLARY_ACCESS_TOKEN) // { token: 'MLY|123|abc', source: 'client' }
 * tokenFrom(undefined, 'MLY|9|s')                             // { token: 'MLY|9|s', source: 'server' }
 * tokenFrom(undefined, undefined)                             // null
 */
export function tokenFrom(authorizationHeader: string | undefined | null, serverToken: string | undefined): { token: string; source: 'server' | 'client' } | null {
  const m = authorizationHeader ? HEADER.exec(authorizationHeader) : null
  if (m?.[1]) return { token: m[1], source: 'client' }
  const server = serverToken?.trim()
  return server ? { token: server, source: 'server' } : null
}
