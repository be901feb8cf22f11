import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FAMILY_COLORS } from '../../../shared/svg/class-colors'

// /embed/mly.js begins with MLY_FAMILY_COLORS made from shared/svg/class-colors.ts; the browser
// tests check the drawn colours against that file.
describe('the element files', () => {
  it.each(['mly-detections.js', 'mly-map-features.js'])('%s takes its palette from MLY_FAMILY_COLORS and keeps no copy of it', (file) => {
    const source = readFileSync(new URL(`./client/${file}`, import.meta.url), 'utf8').toLowerCase()
    expect(source).toMatch(/= mly_family_colors\b/)
    expect(Object.values(FAMILY_COLORS).filter((colour) => source.includes(colour))).toEqual([])
  })
})
