/**
 * Property-based fuzzing of a job's `params` (task-params.ts `jobRequest`): for any JSON a client
 * may send as `params`, `jobRequest` answers a path or a 400 problem, never throws, and a path it
 * answers is one the synchronous endpoint accepts with the very same values.
 * `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isJobTask, JOB_TASKS, jobParamNames, jobRequest, mapFeaturePath, mapFeaturesQuery, imageDetectionsPath, sequenceDetectionsPath, sequenceDetectionsQuery, type JobTask } from './task-params'
import { fuzzParameters, fuzzTimeout, hostileText } from '../../test/support/fuzz'

const NAMES = ['bbox', 'fields', 'object_values', 'sequence_id', 'pixels', 'image_id', 'map_feature_id', 'nope', '__proto__', 'constructor', '']

/** A param value: hostile text, plausible values, numbers (huge, fractional, negative), other JSON. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 3, arbitrary: fc.constantFrom('-79.54,8.94,-79.52,8.96', '179.97,-16.83,-179.97,-16.77', 'object_type', 'id,value', 'regulatory--stop--g1', '3uEM4sYfCH6ZgcEzN0yhbk', '361705751724011', 'true', '1') },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(361705751724011, 2 ** 53, 2 ** 53 + 2, 1e21, -0, 0.1), fc.boolean()) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 })) },
)
const params: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 })), value, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
)

/** Plausible values by name, so the accepting side is reached as often as the refusing one. */
const PLAUSIBLE: Record<string, unknown[]> = {
  bbox: ['-79.54,8.94,-79.52,8.96', '179.97,-16.83,-179.97,-16.77', ' 1e-1 , 2 ,3,4 '],
  fields: ['object_type', 'id,value', '', 'geometry,geometry'],
  object_values: ['regulatory--stop--g1', 'a,b', ''],
  sequence_id: ['3uEM4sYfCH6ZgcEzN0yhbk', 'a_b-c'],
  pixels: ['true', '0', true, false],
  image_id: ['361705751724011', 361705751724011, '0'],
  map_feature_id: ['897467189777867', 12],
  format: ['geojson', 'geojsonseq', 'xml'],
}

/** A task and params made mostly of its own names, with plausible or hostile values. */
const taskAndParams: fc.Arbitrary<[JobTask, unknown]> = fc.constantFrom(...JOB_TASKS).chain((task) =>
  fc.tuple(
    fc.constant(task),
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...jobParamNames(task)).chain((first) => fc.dictionary(fc.constantFrom(...jobParamNames(task)), fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(PLAUSIBLE[first] ?? [''])) }, { weight: 1, arbitrary: value }), { maxKeys: 3 }).map((d) => ({ [first]: PLAUSIBLE[first]![0], ...d }))) },
      { weight: 2, arbitrary: params },
    ),
  ),
)

/** The synchronous endpoint's own schemas, applied to the path `jobRequest` answered. */
function acceptedBySynchronousEndpoint(task: JobTask, path: string): boolean {
  const url = new URL(path, 'https://mly-edge.test')
  const query = Object.fromEntries(url.searchParams)
  const segment = (i: number) => decodeURIComponent(url.pathname.split('/')[i]!)
  switch (task) {
    case 'map-features':
      return url.pathname === '/v1/map-features' && mapFeaturesQuery.safeParse(query).success
    case 'sequence-detections':
      return /^\/v1\/sequences\/[^/]+\/detections$/.test(url.pathname) && sequenceDetectionsPath.safeParse({ sequenceId: segment(3) }).success && sequenceDetectionsQuery.safeParse(query).success
    case 'image-detections':
      return /^\/v1\/images\/[^/]+\/detections$/.test(url.pathname) && imageDetectionsPath.safeParse({ imageId: segment(3) }).success && url.search === ''
    case 'feature-images':
      return /^\/v1\/map-features\/[^/]+\/images$/.test(url.pathname) && mapFeaturePath.safeParse({ mapFeatureId: segment(3) }).success && url.search === ''
  }
}

describe('jobRequest', () => {
  it('never throws: a path the synchronous endpoint accepts, or a 400 problem', () => {
    const accepted = new Set<JobTask>()
    fc.assert(
      fc.property(taskAndParams, ([task, p]) => {
        let answer: ReturnType<typeof jobRequest> | undefined
        expect(() => {
          answer = jobRequest(task, p)
        }).not.toThrow()
        if (!answer!.ok) {
          expect(answer!.problem.status).toBe(400)
          expect(['invalid_body', 'invalid_parameter', 'invalid_bbox']).toContain(answer!.problem.code)
          expect(answer!.problem.detail.length).toBeGreaterThan(0)
          return
        }
        accepted.add(task)
        expect(acceptedBySynchronousEndpoint(task, answer!.path), answer!.path).toBe(true)
        // Only the task's own names, each a string, a finite number or a boolean.
        const entries = Object.entries(p as object)
        for (const [name, v] of entries) {
          expect(jobParamNames(task)).toContain(name)
          expect(['string', 'number', 'boolean']).toContain(typeof v)
          if (typeof v === 'number') expect(Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v))).toBe(true)
        }
      }),
      fuzzParameters(3000),
    )
    // The accepting side was exercised too, for every task.
    expect([...accepted].sort()).toEqual([...JOB_TASKS].sort())
  }, fuzzTimeout())

  it('carries each value into the path unchanged (as text)', () => {
    const id = fc.string({ unit: fc.constantFrom(...'aZ09_-'.split('')), minLength: 1, maxLength: 64 })
    fc.assert(
      fc.property(id, fc.constantFrom('true', 'false', '1', '0', true, false), (sequence, pixels) => {
        const answer = jobRequest('sequence-detections', { sequence_id: sequence, pixels })
        expect(answer.ok).toBe(true)
        if (!answer.ok) return
        const url = new URL(answer.path, 'https://mly-edge.test')
        expect(decodeURIComponent(url.pathname.split('/')[3]!)).toBe(sequence)
        expect(url.searchParams.get('pixels')).toBe(String(pixels))
      }),
      fuzzParameters(1000),
    )
  }, fuzzTimeout())
})

describe('isJobTask', () => {
  it('only the four task names', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.constantFrom(...JOB_TASKS), fc.anything()), (t) => {
        expect(isJobTask(t)).toBe((JOB_TASKS as readonly unknown[]).includes(t))
      }),
      fuzzParameters(2000),
    )
  }, fuzzTimeout())
})
