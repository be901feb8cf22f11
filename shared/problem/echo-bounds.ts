/**
 * @module
 * What a problem may echo of its input: every string with token-looking text redacted and cut to
 * {@link MAX_ECHO_CHARS}, every list cut to {@link MAX_ECHO_ITEMS}, nesting cut at
 * {@link MAX_ECHO_DEPTH}. Applied to every problem as it is written (`problemResponse`), so no
 * validator can forget it: a hostile client's 5,000 unknown fields no longer make an 88 KB answer,
 * and `object_values=MLY|…` is never sent back.
 */

/** Longest string a problem carries (detail, a parameter's reason, a name), in UTF-16 units. */
export const MAX_ECHO_CHARS = 300
/** Most items of a list a problem carries (e.g. `invalid_params`); the rest are counted, not shown. */
export const MAX_ECHO_ITEMS = 20
/** Deepest nesting of extension members kept (deeper values become null). */
export const MAX_ECHO_DEPTH = 4

/**
 * A Mapillary token (`MLY|…`, or its URL-encoded `MLY%7C…`) and everything after it up to a
 * delimiter (white space, quotes, comma, semicolon, `&`, `/`, `?`, `#`, `=`, brackets).
 */
const TOKEN = /MLY(?:\||%7C)[^\s'"`,;&/?#=()[\]{}<>]*/gi
/** What a token is replaced by. */
export const REDACTED = 'MLY|[redacted]'

/**
 * `text` with every token-looking run replaced by {@link REDACTED}.
 *
 * @example
 * redactTokens("'MLY|123|s3cr3t' is not an object value") // "'MLY|[redacted]' is not an object value"
 */
export function redactTokens(text: string): string {
  return text.replace(TOKEN, REDACTED)
}

/**
 * `text` redacted, then cut to {@link MAX_ECHO_CHARS} (the cut marked with `…`).
 *
 * @example
 * boundText('x'.repeat(1000)).length // 300
 */
export function boundText(text: string): string {
  const safe = redactTokens(text)
  // Redact first, so a cut never leaves half a token behind.
  return safe.length <= MAX_ECHO_CHARS ? safe : `${safe.slice(0, MAX_ECHO_CHARS - 1)}…`
}

/**
 * A JSON-able value with every string bounded ({@link boundText}, member names too), every list
 * cut to {@link MAX_ECHO_ITEMS} and nesting past {@link MAX_ECHO_DEPTH} dropped. `cut` is true when
 * a list or an object lost members (the problem then says `echo_truncated: true`).
 *
 * @example
 * boundValue({ invalid_params: Array(5000).fill({ name: 'fields', reason: 'x' }) }).value.invalid_params.length // 20
 */
export function boundValue(value: unknown, depth = 0): { value: unknown; cut: boolean } {
  if (typeof value === 'string') return { value: boundText(value), cut: false }
  if (value === null || typeof value !== 'object') return { value, cut: false }
  if (depth >= MAX_ECHO_DEPTH) return { value: null, cut: true }
  let cut = false
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ECHO_ITEMS).map((item) => {
      const bounded = boundValue(item, depth + 1)
      cut ||= bounded.cut
      return bounded.value
    })
    return { value: items, cut: cut || value.length > MAX_ECHO_ITEMS }
  }
  const entries = Object.entries(value)
  const out: Record<string, unknown> = {}
  for (const [name, member] of entries.slice(0, MAX_ECHO_ITEMS)) {
    const bounded = boundValue(member, depth + 1)
    cut ||= bounded.cut
    out[boundText(name)] = bounded.value
  }
  return { value: out, cut: cut || entries.length > MAX_ECHO_ITEMS }
}
