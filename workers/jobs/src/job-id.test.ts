import { describe, expect, it } from 'vitest'
import { isJobId, newJobId } from './job-id'

describe('job ids', () => {
  it('are 128 random bits as 32 lowercase hex digits, all different', () => {
    const ids = Array.from({ length: 1000 }, newJobId)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('are recognised by shape only', () => {
    expect(isJobId(newJobId())).toBe(true)
    for (const id of [undefined, '', 'nope', '0123456789ABCDEF0123456789ABCDEF', 'a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}g`]) expect(isJobId(id)).toBe(false)
  })
})
