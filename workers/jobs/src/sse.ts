/**
 * @module
 * Server-Sent Events framing (WHATWG HTML "server-sent events"): one message is `id:`, `event:`
 * and `data:` lines and a blank line; a line starting with `:` is a comment.
 */

export interface SseMessage {
  /** Becomes the client's Last-Event-ID. */
  id: number
  event: string
  /** Serialised as one line of JSON. */
  data: unknown
}

/**
 * @example
 * sseMessage({ id: 3, event: 'progress', data: { done: 1, total: 4 } })
 * // 'id: 3\nevent: progress\ndata: {"done":1,"total":4}\n\n'
 */
export function sseMessage(m: SseMessage): string {
  // JSON.stringify escapes line breaks inside strings, so the data is one line.
  return `id: ${m.id}\nevent: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`
}

/** A comment line (ignored by clients; keeps proxies from closing an idle stream). */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`
}

/** How long a client waits before reconnecting after the stream broke. */
export function sseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`
}

/**
 * The event id a reconnecting client last saw (`Last-Event-ID`), 0 when absent or not a count.
 * @example lastEventId('12') // 12
 */
export function lastEventId(header: string | null | undefined): number {
  const v = header?.trim() ?? ''
  return /^\d{1,15}$/.test(v) ? Number(v) : 0
}
