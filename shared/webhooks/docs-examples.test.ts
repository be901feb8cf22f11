/**
 * The examples of docs/webhooks.md, run as written: the openssl lines and sign.mjs make signatures
 * this module accepts, and the copy-paste receiver accepts what the deliverer signs, refuses the
 * rest, and handles a repeated delivery once.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signatureHeader, verifySignature } from './signature'

const DOC = readFileSync(join(import.meta.dirname, '../../docs/webhooks.md'), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'webhooks-doc-'))

/** The fenced block of `lang` whose text contains `marker`. */
function block(lang: string, marker: string): string {
  const found = [...DOC.matchAll(/```(\w*)\n([\s\S]*?)```/g)].find((m) => m[1] === lang && m[2]!.includes(marker))
  if (!found) throw new Error(`docs/webhooks.md has no ${lang} block with ${marker}`)
  return found[2]!
}

/** A small environment for the example scripts (Env typings widen ProcessEnv, hence the cast). */
function scriptEnv(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', ...vars } as unknown as NodeJS.ProcessEnv
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

describe('docs/webhooks.md, shell signing', () => {
  it('makes a signature verifySignature accepts', async () => {
    const script = block('sh', 'openssl dgst')
    const signing = script.slice(0, script.indexOf('curl')) // the lines before the request
    const out = execFileSync('bash', ['-c', `${signing}\nprintf '%s\\n%s\\n%s' "$t" "$v1" "$body"`], { encoding: 'utf8' })
    const [t, v1, body] = out.split('\n')
    const check = await verifySignature(`t=${t},v1=${v1}`, body!, ['dev-secret'], Math.floor(Date.now() / 1000))
    expect(check).toEqual({ ok: true, t: Number(t), v1 })
    expect(JSON.parse(body!)).toEqual({ image_id: '361705751724011', callback_url: 'http://127.0.0.1:9000/callback' })
  })
})

describe('docs/webhooks.md, sign.mjs', () => {
  it('sends a trigger verifySignature accepts, over the bytes it sent', async () => {
    const seen: Array<{ path: string; signature: string; body: string }> = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        seen.push({ path: req.url!, signature: String(req.headers['x-signature']), body: Buffer.concat(chunks).toString('utf8') })
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"j1","state":"queued"}')
      })
    })
    const port = await listen(server)
    try {
      const file = join(dir, 'sign.mjs')
      writeFileSync(file, block('js', 'sign.mjs').replace('http://localhost:8787', `http://127.0.0.1:${port}`))
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [file], { env: scriptEnv() })
        let text = ''
        child.stdout.on('data', (c: Buffer) => (text += c))
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`sign.mjs exited ${code}`))))
      })
      expect(out).toContain('202')
      expect(seen).toHaveLength(1)
      expect(seen[0]!.path).toBe('/v1/hooks/image-detections')
      const check = await verifySignature(seen[0]!.signature, seen[0]!.body, ['dev-secret'], Math.floor(Date.now() / 1000))
      expect(check.ok).toBe(true)
    } finally {
      server.close()
    }
  })
})

describe('docs/webhooks.md, receiver.mjs', () => {
  let receiver: ChildProcess
  let log = ''
  let base = ''

  beforeAll(async () => {
    const probe = createServer()
    const port = await listen(probe)
    await new Promise((r) => probe.close(r))
    const file = join(dir, 'receiver.mjs')
    writeFileSync(file, block('js', 'receiver.mjs'))
    // Rotation: the receiver holds the new and the old secret, as the server does mid-rotation.
    receiver = spawn(process.execPath, [file], { env: scriptEnv({ WEBHOOK_SECRET: 'new-secret,dev-secret', PORT: String(port) }) })
    await new Promise<void>((resolve) => receiver.stdout!.on('data', (c: Buffer) => ((log += c), log.includes('receiver on') && resolve())))
    base = `http://127.0.0.1:${port}/callback`
  })
  afterAll(() => {
    receiver.kill()
  })

  const deliver = async (body: string, headers: Record<string, string>) =>
    (await fetch(base, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-event-type': 'job.done', ...headers } })).status

  it('accepts a correctly signed callback (either secret), and logs one delivery once however often it comes', async () => {
    const body = '{"type":"FeatureCollection","features":[],"note":"héllo"}'
    const now = Math.floor(Date.now() / 1000)
    expect(await deliver(body, { 'x-signature': await signatureHeader('new-secret', body, now), 'x-delivery-id': 'd-1' })).toBe(204)
    expect(await deliver(body, { 'x-signature': await signatureHeader('dev-secret', body, now), 'x-delivery-id': 'd-1' })).toBe(204)
    expect(await deliver(body, { 'x-signature': `t=${now},v1=${'0'.repeat(64)},${(await signatureHeader('new-secret', body, now)).split(',')[1]}`, 'x-delivery-id': 'd-2' })).toBe(204)
    await new Promise((r) => setTimeout(r, 50))
    expect(log.split('\n').filter((line) => line.startsWith('job.done d-1 '))).toEqual([`job.done d-1 ${body}`])
    expect(log).toContain('job.done d-2 ')
  })

  it('refuses a wrong secret, a changed body, a stale or future t, no header, bad hex', async () => {
    const body = '{"a":1}'
    const now = Math.floor(Date.now() / 1000)
    const refused = [
      await signatureHeader('wrong', body, now),
      await signatureHeader('dev-secret', '{"a":2}', now),
      await signatureHeader('dev-secret', body, now - 301),
      await signatureHeader('dev-secret', body, now + 301),
      `t=${now},v1=zz`,
      `t=${now}`,
    ]
    for (const signature of refused) expect(await deliver(body, { 'x-signature': signature, 'x-delivery-id': 'd-x' })).toBe(401)
    expect(await deliver(body, { 'x-delivery-id': 'd-x' })).toBe(401)
    expect(log).not.toContain('d-x')
  })
})
