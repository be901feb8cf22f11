import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { versionTag } from './version-tag'

describe('versionTag', () => {
  it('is the first 16 bytes of SHA-256 over name, newline, version, in hex, quoted', async () => {
    const expected = createHash('sha256').update('mf-sweep:v1:{"bbox":[1,2,3,4]}\n1796169756530').digest('hex').slice(0, 32)
    expect(await versionTag('mf-sweep:v1:{"bbox":[1,2,3,4]}', 1796169756530)).toBe(`"${expected}"`)
  })

  it('differs by name and by version, and is the same for the same pair', async () => {
    const a = await versionTag('box-a', 1)
    expect(await versionTag('box-a', 1)).toBe(a)
    expect(await versionTag('box-b', 1)).not.toBe(a)
    expect(await versionTag('box-a', 2)).not.toBe(a)
    // The separator keeps name and version apart: "x1" at 2 is not "x" at 12.
    expect(await versionTag('x1', 2)).not.toBe(await versionTag('x', 12))
  })
})
