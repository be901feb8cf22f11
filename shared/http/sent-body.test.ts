import { describe, expect, it } from 'vitest'
import { sentBody } from './sent-body'

async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  for await (const c of body) chunks.push(c)
  return chunks
}

describe('sentBody', () => {
  it('sends the bytes new Response(text) would, a slice at a time, and never splits a surrogate pair', async () => {
    // Emoji (two UTF-16 units each) placed so that slices of 3 units end inside a pair.
    const text = 'ab😀c😀😀d€é"\\n' + 'x'.repeat(10) + '😀'
    const { body } = sentBody(text, 3)
    const chunks = await readAll(body)
    expect(chunks.length).toBeGreaterThan(5)
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
    let at = 0
    for (const c of chunks) {
      joined.set(c, at)
      at += c.byteLength
    }
    expect(joined).toStrictEqual(new Uint8Array(await new Response(text).arrayBuffer()))
    // Each slice decodes on its own: no pair was cut.
    for (const c of chunks) expect(new TextDecoder().decode(c)).not.toContain('\uFFFD')
  })

  it('settles sent once the last byte is taken, not before', async () => {
    const { body, sent } = sentBody('a'.repeat(10), 4)
    let settled = false
    void sent.then(() => (settled = true))
    const reader = body.getReader()
    await reader.read()
    await reader.read()
    await Promise.resolve()
    expect(settled).toBe(false)
    await reader.read()
    expect((await reader.read()).done).toBe(true)
    await sent
    expect(settled).toBe(true)
  })

  it('settles sent when the reader gives up', async () => {
    const { body, sent } = sentBody('a'.repeat(100), 10)
    const reader = body.getReader()
    await reader.read()
    await reader.cancel()
    await expect(sent).resolves.toBeUndefined()
  })

  it('sends an empty text as an empty body', async () => {
    const { body, sent } = sentBody('')
    expect(await readAll(body)).toStrictEqual([])
    await sent
  })
})
