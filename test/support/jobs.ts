/**
 * @module
 * Helpers for the jobs tests: submit, wait, and read a Server-Sent Events stream by hand (fetch and
 * a reader, like a client without EventSource).
 */
import { expect } from 'vitest'
import type { System } from './system'

export interface SseEvent {
  id?: number
  event: string
  data: any
}

export interface SseRead {
  status: number
  headers: Headers
  events: SseEvent[]
  /** Comment lines (`: heartbeat`). */
  comments: string[]
  /** The `retry:` the server asked for, if any. */
  retry?: number
  /** The whole text as it came. */
  text: string
  /** The server ended the stream (rather than the reader stopping early). */
  ended: boolean
}

export async function submit(sys: System, task: string, params: Record<string, unknown>, init: RequestInit = {}) {
  return sys.json('/v1/jobs', {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: JSON.stringify({ task, params }),
  })
}

/** Submits and answers the job id (asserting the 202). */
export async function submitted(sys: System, task: string, params: Record<string, unknown>, init: RequestInit = {}): Promise<string> {
  const res = await submit(sys, task, params, init)
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.id
}

/** Polls the status until the job ended; answers the last status. */
export async function ended(sys: System, id: string, timeoutMs = 90_000): Promise<any> {
  const t0 = Date.now()
  for (;;) {
    const res = await sys.json(`/v1/jobs/${id}`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    if (res.body.state === 'done' || res.body.state === 'failed') return res.body
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${res.body.state} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * Reads `path` as an event stream until the server ends it, or until `stopAfter` events (then the
 * reader cancels, like a client going away).
 */
export async function readEvents(sys: System, path: string, opts: { lastEventId?: number; stopAfter?: number; headers?: Record<string, string> } = {}): Promise<SseRead> {
  const res = await sys.fetch(path, { headers: { accept: 'text/event-stream', ...(opts.lastEventId !== undefined ? { 'last-event-id': String(opts.lastEventId) } : {}), ...opts.headers } })
  const out: SseRead = { status: res.status, headers: res.headers, events: [], comments: [], text: '', ended: false }
  if (!res.body) return { ...out, ended: true }
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) {
      out.ended = true
      break
    }
    const chunk = decoder.decode(value, { stream: true })
    out.text += chunk
    buffer += chunk
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      parseBlock(block, out)
    }
    if (opts.stopAfter !== undefined && out.events.length >= opts.stopAfter) {
      await reader.cancel()
      break
    }
  }
  return out
}

function parseBlock(block: string, out: SseRead): void {
  const fields: Record<string, string> = {}
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      out.comments.push(line.slice(1).trim())
      continue
    }
    const at = line.indexOf(':')
    const name = at < 0 ? line : line.slice(0, at)
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '')
    fields[name] = name in fields ? `${fields[name]}\n${value}` : value
  }
  if (fields.retry !== undefined) out.retry = Number(fields.retry)
  if (fields.data === undefined) return
  out.events.push({ ...(fields.id !== undefined ? { id: Number(fields.id) } : {}), event: fields.event ?? 'message', data: JSON.parse(fields.data) })
}
