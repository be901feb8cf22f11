import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FAMILY_COLORS } from '../../../shared/svg/class-colors'

// The browser file cannot import shared/svg (it is served as it is): its copy must stay equal.
describe('the palette of <mly-detections>', () => {
  it('is the detections.svg route’s, family for family', () => {
    const source = readFileSync(new URL('./client/mly-detections.js', import.meta.url), 'utf8')
    const block = /const FAMILY_COLORS = \{([^}]*)\}/.exec(source)?.[1]
    expect(block, 'FAMILY_COLORS in mly-detections.js').toBeDefined()
    const copy = Object.fromEntries([...block!.matchAll(/(\w+): '(#[0-9a-f]{6})'/gi)].map((m) => [m[1], m[2]]))
    expect(copy).toEqual(FAMILY_COLORS)
  })
})
