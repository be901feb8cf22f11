/**
 * @module
 * The stand-in's control routes, called from a runtime test.
 */

/**
 * A caller of the stand-in at `origin`: GET `path` (or POST `body` as JSON) and its parsed answer;
 * throws on a non-2xx.
 *
 * @example
 * const standIn = standInCall(env.MAPILLARY_GRAPH_URL)
 * const world = await standIn('/__sandbox/truth/world')
 * await standIn('/__sandbox/config', { rate500: 1 })
 */
export function standInCall(origin: string): (path: string, body?: unknown) => Promise<any> {
  return async (path, body) => {
    const res = await fetch(`${origin}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    if (!res.ok) throw new Error(`stand-in ${path}: HTTP ${res.status}`)
    return res.json()
  }
}
