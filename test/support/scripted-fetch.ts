/**
 * @module
 * A scripted fake fetch for shared/upstream's tests: plays answers, drops and hangs in order and
 * records every call; and a sleep that records instead of waiting.
 */

export interface Call {
  url: string
  headers: Headers
}

export type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { drop: 'connect' } // fetch rejects
  | { drop: 'body' } // headers arrive, then the body stream errors
  | { hang: true } // never answers (until aborted)

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return { status, body, headers }
}

/** A fetch that plays `steps` in order (the last repeats) and records calls. */
export function scriptedFetch(steps: Step[]) {
  const calls: Call[] = []
  let i = 0
  const fn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), headers: new Headers(init?.headers) })
    const step = steps[Math.min(i++, steps.length - 1)]!
    if ('hang' in step) {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
    }
    if ('drop' in step) {
      if (step.drop === 'connect') throw new TypeError('fetch failed')
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"data":[{"id":'))
          c.error(new TypeError('terminated'))
        },
      })
      return new Response(stream, { status: 200, headers: { 'content-type': 'application/json' } })
    }
    const text = typeof step.body === 'string' ? step.body : JSON.stringify(step.body ?? {})
    return new Response(text, { status: step.status, headers: { 'content-type': 'application/json', ...step.headers } })
  }) as typeof fetch
  return { fetch: fn, calls }
}

/** Records sleeps instead of waiting. */
export function recordingSleep() {
  const sleeps: number[] = []
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) }
}
