import { describe, expect, it } from 'vitest'
import { expectCovers, expectPartition } from './tiling-oracle'

type Bbox = [number, number, number, number]
const cells = (...boxes: Bbox[]) => boxes.map((bbox) => ({ bbox }))

/** The oracle must fail on each of these; a check that cannot fail proves nothing. */
describe('the tiling oracle catches', () => {
  it('a gap between two cells, however thin, as long as a coordinate fits in it', () => {
    expect(() => expectCovers([0, 0, 2, 1], cells([0, 0, 1, 1], [1 + 1e-12, 0, 2, 1]))).toThrow(/in no cell/)
    expect(() => expectCovers([0, 0, 2, 1], cells([0, 0, 1, 0.5], [0, 0.5 + 1e-9, 1, 1], [1, 0, 2, 1]))).toThrow(/in no cell/)
  })
  it('an uncovered edge or corner of the box', () => {
    expect(() => expectCovers([0, 0, 1, 1], cells([0, 0, 1, 1 - 1e-9]))).toThrow()
    expect(() => expectCovers([0, 0, 2, 2], cells([0, 0, 1, 2], [1, 0, 2, 1], [1, 1, 2, 2 - 1e-9]))).toThrow()
  })
  it('a cell outside the box, or across the antimeridian', () => {
    expect(() => expectCovers([0, 0, 1, 1], cells([0, 0, 1, 1], [1, 0, 1.5, 1]))).toThrow(/outside/)
    expect(() => expectCovers([179, 0, -179, 1], cells([179, 0, -179, 1]))).toThrow()
  })
  it('one half of a box across the antimeridian left out', () => {
    expect(() => expectCovers([179, 0, -179, 1], cells([179, 0, 180, 1]))).toThrow(/in no cell/)
    expect(() => expectCovers([179.9, 0, -180, 0.1], cells([179.9, 0, 180, 0.1]))).toThrow(/in no cell/)
  })
  it('a repeated request and an empty cell', () => {
    expect(() => expectCovers([0, 0, 1, 1], cells([0, 0, 1, 1], [0, 0, 1, 1]))).toThrow(/repeated/)
    expect(() => expectCovers([0, 0, 1, 1], cells([0, 0, 1, 1], [0.5, 0, 0.5, 1]))).toThrow(/no width/)
  })
  it('overlapping children of a split', () => {
    expect(() => expectPartition([0, 0, 2, 1], cells([0, 0, 1.1, 1], [1, 0, 2, 1]))).toThrow(/overlap/)
  })
})

describe('the tiling oracle accepts', () => {
  it('an exact partition, shared edges included', () => {
    expectPartition([0, 0, 2, 2], cells([0, 0, 1, 1], [1, 0, 2, 1], [0, 1, 2, 2]))
  })
  it('both halves of a box across the antimeridian, and a line or a point where the box is one', () => {
    expectCovers([179, 0, -179, 1], cells([179, 0, 180, 1], [-180, 0, -179, 1]))
    expectCovers([180, 1, -180, 1.001], cells([180, 1, 180, 1.001], [-180, 1, -180, 1.001]))
    expectCovers([10, 20, 10, 20], cells([10, 20, 10, 20]))
  })
})
