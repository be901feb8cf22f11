/**
 * @module
 * Making untrusted text safe inside SVG/XML: escaping for text and attribute values, and the one
 * URL rule for `href` (http and https only).
 */

// Characters XML 1.0 forbids (C0 controls but tab, LF, CR; U+FFFE, U+FFFF; lone surrogates): one
// would make the whole document unparseable, so they become U+FFFD.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * `text` safe as XML character data and as a quoted attribute value: `& < > " '` as entities,
 * characters XML cannot hold as U+FFFD.
 *
 * @example
 * escapeXml('"><script>') // '&quot;&gt;&lt;script&gt;'
 */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (ch) => ENTITIES[ch]!)
}

/**
 * `url` normalised if it is an absolute http(s) URL, else null (`javascript:`, `data:`, relative,
 * unparseable). Escape the result like any attribute value.
 *
 * @example
 * safeHttpUrl('https://example.com/a.jpg?x=1') // 'https://example.com/a.jpg?x=1'
 * safeHttpUrl('javascript:alert(1)')           // null
 */
export function safeHttpUrl(url: string | null | undefined): string | null {
  if (typeof url !== 'string') return null
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null
}
