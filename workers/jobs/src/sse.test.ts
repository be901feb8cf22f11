import { describe, expect, it } from 'vitest'
import { lastEventId, sseComment, sseMessage, sseRetry } from './sse'

describe('SSE framing', () => {
  it('writes id, event and one line of JSON data, then a blank line', () => {
    expect(sseMessage({ id: 3, event: 'progress', data: { done: 1, total: 4 } })).toBe('id: 3\nevent: progress\ndata: {"done":1,"total":4}\n\n')
    // A line break inside a string stays escaped: the data is one line.
    expect(sseMessage({ id: 9, event: 'failed', data: { detail: 'a\nb' } })).toBe('id: 9\nevent: failed\ndata: {"detail":"a\\nb"}\n\n')
  })

  it('writes comments on one line, and the reconnect delay', () => {
    expect(sseComment('heartbeat')).toBe(': heartbeat\n\n')
    expect(sseComment('a\r\nb')).toBe(': a b\n\n')
    expect(sseRetry(2000.7)).toBe('retry: 2000\n\n')
  })

  it('reads Last-Event-ID as a count, anything else as 0', () => {
    expect(lastEventId('12')).toBe(12)
    expect(lastEventId(' 7 ')).toBe(7)
    for (const v of [null, undefined, '', '-1', '1.5', 'abc', '1'.repeat(20)]) expect(lastEventId(v)).toBe(0)
  })
})
