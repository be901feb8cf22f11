/**
 * @module
 * A text answer's body that says when it has left: its bytes are handed to the runtime a slice
 * at a time, and `sent` settles once the last is taken (or the reader gave up). Work that must
 * not compete with the answer (copying it into KV) waits for it.
 */

/** UTF-16 units encoded per slice: about a megabyte, so the whole text is never encoded at once. */
const SLICE_UNITS = 1 << 20

/**
 * The body of `text` as UTF-8 (what `new Response(text)` would send) and when it has been read.
 * @example
 * const { body, sent } = sentBody(json)
 * ctx.waitUntil(sent.then(() => env.CACHE.put(key, json)))
 * return new Response(body, { headers })
 */
export function sentBody(text: string, sliceUnits = SLICE_UNITS): { body: ReadableStream<Uint8Array>; sent: Promise<void> } {
  let done!: () => void
  const sent = new Promise<void>((resolve) => (done = resolve))
  const encoder = new TextEncoder()
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= text.length) {
        controller.close()
        done()
        return
      }
      let end = Math.min(text.length, at + Math.max(2, sliceUnits))
      // Never between the halves of a surrogate pair: each would encode as U+FFFD.
      const last = text.charCodeAt(end - 1)
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--
      controller.enqueue(encoder.encode(text.slice(at, end)))
      at = end
    },
    cancel() {
      done()
    },
  })
  return { body, sent }
}
