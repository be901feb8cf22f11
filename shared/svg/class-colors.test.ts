import { describe, expect, it } from 'vitest'
import { classFamily, FAMILY_COLORS } from './class-colors'

describe('classFamily', () => {
  it('is the first -- segment of a value when it is a Mapillary family, else other', () => {
    expect(classFamily('regulatory--stop--g1')).toBe('regulatory')
    expect(classFamily('warning--pedestrians-crossing--g4')).toBe('warning')
    expect(classFamily('information--parking--g1')).toBe('information')
    expect(classFamily('complementary--chevron-left--g1')).toBe('complementary')
    expect(classFamily('object--vehicle--car')).toBe('object')
    expect(classFamily('marking--discrete--arrow--left')).toBe('marking')
    expect(classFamily('construction--flat--road')).toBe('construction')
    expect(classFamily('nature--vegetation')).toBe('nature')
    expect(classFamily('void--ego-vehicle')).toBe('void')
    expect(classFamily('human--person')).toBe('human')
    expect(classFamily('animal--bird')).toBe('animal')
    for (const v of ['spaceship--x', 'regulatory', '', 'constructor--x', '__proto__--x', 'Regulatory--stop']) {
      expect(classFamily(v), v).toBe(v === 'regulatory' ? 'regulatory' : 'other')
    }
  })

  it('gives twelve families twelve different colours', () => {
    expect(Object.keys(FAMILY_COLORS)).toHaveLength(12)
    expect(new Set(Object.values(FAMILY_COLORS)).size).toBe(12)
  })
})
