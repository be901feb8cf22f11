/**
 * @module
 * A test helper: an async function over many items, a few at a time (a test's own requests to the
 * stand-in stay within what it serves comfortably).
 */

/**
 * `f` over `items`, `count` at a time, results in order.
 * @example const lists = await mapLimited(ids, 8, (id) => get(`/${id}/detections`))
 */
export async function mapLimited<T, R>(items: readonly T[], count: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i]!)
      }
    }),
  )
  return out
}
