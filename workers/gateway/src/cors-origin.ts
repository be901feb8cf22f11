/**
 * @module
 * The CORS allow-list: `*` (every origin) or a comma-separated list of exact origins.
 */

/** The value for `Access-Control-Allow-Origin`, or null when the origin is not allowed. */
export function allowedOrigin(origin: string | undefined, allowList: string | undefined): string | null {
  const list = (allowList ?? '*').split(',').map((s) => s.trim()).filter(Boolean)
  if (list.length === 0 || list.includes('*')) return '*'
  if (!origin) return null
  return list.includes(origin) ? origin : null
}
