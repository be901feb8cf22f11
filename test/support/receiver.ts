/**
 * @module
 * A webhook receiver for the tests: a Node HTTP server on 127.0.0.1 that records every request
 * (headers, raw body bytes) and answers as the test scripts it, per path.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
  at: number
}

export interface Answer {
  status: number
  headers?: Record<string, string>
  body?: string
}

export interface Receiver {
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string
  /** Answers for `path`, in order; the last one repeats. Unscripted paths answer 204. */
  script(path: string, answers: Answer[]): void
  received(path: string): Received[]
  /** Resolves once `path` got `n` requests (or rejects after `timeoutMs`). */
  waitFor(path: string, n: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

/**
 * Starts a receiver on an ephemeral port.
 * @example const r = await startReceiver(); r.script('/cb', [{ status: 500 }, { status: 204 }])
 */
export async function startReceiver(): Promise<Receiver> {
  const scripts = new Map<string, Answer[]>()
  const log: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? '/'
      log.push({ path, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() })
      const answers = scripts.get(path) ?? []
      const seen = log.filter((r) => r.path === path).length
      const answer = answers[Math.min(seen, answers.length) - 1] ?? { status: 204 }
      res.writeHead(answer.status, answer.headers ?? {})
      res.end(answer.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    script: (path, answers) => void scripts.set(path, answers),
    received: (path) => log.filter((r) => r.path === path),
    async waitFor(path, n, timeoutMs = 30_000) {
      const t0 = Date.now()
      for (;;) {
        const got = log.filter((r) => r.path === path)
        if (got.length >= n) return got
        if (Date.now() - t0 > timeoutMs) throw new Error(`receiver ${path}: ${got.length} of ${n} requests after ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/**
 * The `X-Signature` a sender makes (`t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`), with
 * Node's own crypto: an oracle independent of shared/webhooks.
 * @example sign('s3cret', '{}', 1700000000) // 't=1700000000,v1=…'
 */
export function sign(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${hmacHex(secret, t, body)}`
}

/** Whether `header` carries a v1 that is HMAC-SHA256(secret, "<t>.<body>") of its own t. */
export function signedBy(header: string | string[] | undefined, body: Buffer, secret: string): boolean {
  if (typeof header !== 'string') return false
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1]
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1]
  if (!t || !v1) return false
  return timingSafeEqual(Buffer.from(v1, 'hex'), Buffer.from(hmacHex(secret, Number(t), body), 'hex'))
}

function hmacHex(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex')
}
