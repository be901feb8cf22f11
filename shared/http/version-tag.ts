/**
 * @module
 * An entity tag for an answer that never changes once made: its maker's name and when it was
 * made, hashed. A box's sweep answers the same bytes until the box is swept again, which finishes
 * at another time; so no one (the gateway included) hashes an 11 MB answer to tag it.
 */

/**
 * The quoted tag (32 hex digits) of the answer `name` made at `version` (e.g. when it finished, ms).
 * @example await versionTag('mf-sweep:v1:{…}', 1796169756530) // '"3f9c…"'
 */
export async function versionTag(name: string, version: number): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${name}\n${version}`))
  return `"${Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}"`
}
