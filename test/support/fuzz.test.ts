import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fuzzMultiplier, fuzzParameters, fuzzTimeout } from './fuzz'

describe('fuzz settings', () => {
  it('FUZZ_RUNS multiplies the case count and the timeout; nonsense counts as 1', () => {
    expect(fuzzParameters(2000, {})).toEqual({ numRuns: 2000 })
    expect(fuzzParameters(2000, { FUZZ_RUNS: '10' }).numRuns).toBe(20_000)
    expect(fuzzParameters(150, { FUZZ_RUNS: '0.1' }).numRuns).toBe(15)
    expect(fuzzParameters(3, { FUZZ_RUNS: '0.01' }).numRuns).toBe(1)
    for (const bad of ['', '0', '-2', 'ten', 'Infinity', 'NaN']) expect(fuzzMultiplier({ FUZZ_RUNS: bad }), bad).toBe(1)
    expect(fuzzTimeout(60_000, { FUZZ_RUNS: '10' })).toBe(600_000)
    expect(fuzzTimeout(60_000, { FUZZ_RUNS: '0.5' })).toBe(60_000)
  })

  it('FUZZ_SEED (and FUZZ_PATH with it) replays the same cases', () => {
    expect(fuzzParameters(5, { FUZZ_SEED: '-1538427035', FUZZ_PATH: '84:2' })).toEqual({ numRuns: 5, seed: -1538427035, path: '84:2' })
    expect(fuzzParameters(5, { FUZZ_SEED: 'x', FUZZ_PATH: '1' })).toEqual({ numRuns: 5 })
    expect(fuzzParameters(5, { FUZZ_PATH: '1' })).toEqual({ numRuns: 5 })
    const seen = (): number[] => {
      const values: number[] = []
      fc.assert(fc.property(fc.integer(), (n) => void values.push(n)), fuzzParameters(20, { FUZZ_SEED: '42' }))
      return values
    }
    expect(seen()).toEqual(seen())
  })
})
