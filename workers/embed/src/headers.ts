/**
 * @module
 * The security headers of every embed answer: a strict Content-Security-Policy (scripts and styles
 * only as files of this origin, no inline script), `frame-ancestors` from the EMBED_ANCESTORS
 * setting, and nosniff.
 */

/** A CSP source expression a setting may name: `*`, `'self'`, `'none'`, a scheme, or a host with optional scheme, `*.` and port. */
const SOURCE = /^(\*|'self'|'none'|https?:|https?:\/\/(\*\.)?[a-z0-9.-]+(:(\d{1,5}|\*))?|(\*\.)?[a-z0-9.-]+(:(\d{1,5}|\*))?)$/i

/**
 * The `frame-ancestors` sources of the EMBED_ANCESTORS setting (space- or comma-separated). Empty
 * or unset: `*` (any site may frame the pages). A token that is no CSP source expression makes the
 * whole setting wrong: `'none'` (fails closed; never a directive injected, never a word taken for a host).
 * @example frameAncestors('https://city.example, https://*.blog.example') // 'https://city.example https://*.blog.example'
 * @example frameAncestors(undefined) // '*'
 */
export function frameAncestors(setting: string | undefined): string {
  const tokens = (setting ?? '').split(/[\s,]+/).filter(Boolean)
  if (tokens.length === 0) return '*'
  return tokens.every((t) => SOURCE.test(t)) ? tokens.join(' ') : "'none'"
}

/**
 * The headers of an embed HTML page. Pictures come from the upstream's thumbnail hosts (https; the
 * local stand-in is http), data: for nothing but harmless inline images; the API is this origin.
 * @example pageHeaders('*')['content-security-policy'] // "default-src 'none'; script-src 'self'; … frame-ancestors *"
 */
export function pageHeaders(ancestors: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      'img-src https: http: data:',
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${ancestors}`,
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    // The page is the same for everyone and holds no data: the browser fetches that itself.
    'cache-control': 'public, max-age=300',
  }
}

/**
 * The headers of a static script or stylesheet: loadable from any site (a static page imports
 * mly.js from another origin), nosniff so it runs only as what it is.
 * @example assetHeaders('text/javascript; charset=utf-8')
 */
export function assetHeaders(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
    'cross-origin-resource-policy': 'cross-origin',
    'cache-control': 'public, max-age=300',
  }
}
