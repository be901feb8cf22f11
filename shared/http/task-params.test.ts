import { describe, expect, it } from 'vitest'
import { answerFormat, imageDetectionsPath, isJobTask, JOB_TASKS, jobParamNames, jobRequest, mapFeaturePath, mapFeaturesQuery, sequenceDetectionsPath, sequenceDetectionsQuery, type JobTask } from './task-params'

const path = (task: JobTask, params: unknown) => {
  const r = jobRequest(task, params)
  if (!r.ok) throw new Error(JSON.stringify(r.problem))
  return r.path
}
const problemOf = (task: JobTask, params: unknown) => {
  const r = jobRequest(task, params)
  expect(r.ok).toBe(false)
  return (r as { problem: { status: number; code: string; detail: string; invalid_params?: unknown } }).problem
}

describe('the synchronous schemas', () => {
  it('map-features query: bbox parsed, fields defaulting to none', () => {
    expect(mapFeaturesQuery.parse({ bbox: '-79.54,8.94,-79.52,8.96' })).toEqual({ bbox: [-79.54, 8.94, -79.52, 8.96], fields: [] })
  })

  it('sequence detections query: default fields, pixels false', () => {
    expect(sequenceDetectionsQuery.parse({})).toEqual({ fields: ['id', 'value', 'geometry'], pixels: false })
  })
})

describe('jobRequest: params → the synchronous path', () => {
  it('builds each task’s path and query from the params by name', () => {
    expect(path('map-features', { bbox: '-79.54,8.94,-79.52,8.96' })).toBe('/v1/map-features?bbox=-79.54%2C8.94%2C-79.52%2C8.96')
    expect(path('map-features', { fields: 'object_type', object_values: 'regulatory--stop--g1', bbox: '1,2,3,4' })).toBe(
      '/v1/map-features?bbox=1%2C2%2C3%2C4&object_values=regulatory--stop--g1&fields=object_type',
    )
    expect(path('sequence-detections', { sequence_id: 'NXXERQlJzUT20ZJZEHg4bf' })).toBe('/v1/sequences/NXXERQlJzUT20ZJZEHg4bf/detections')
    expect(path('sequence-detections', { sequence_id: 'a_b-C', fields: 'id,value', pixels: 'true' })).toBe('/v1/sequences/a_b-C/detections?fields=id%2Cvalue&pixels=true')
    expect(path('image-detections', { image_id: '361705751724011' })).toBe('/v1/images/361705751724011/detections')
    expect(path('feature-images', { map_feature_id: '897467189777867' })).toBe('/v1/map-features/897467189777867/images')
  })

  it('accepts numbers and booleans where their text is accepted', () => {
    expect(path('image-detections', { image_id: 361705751724011 })).toBe('/v1/images/361705751724011/detections')
    expect(path('sequence-detections', { sequence_id: 'abc', pixels: true })).toBe('/v1/sequences/abc/detections?pixels=true')
    expect(path('sequence-detections', { sequence_id: 'abc', pixels: 0 })).toBe('/v1/sequences/abc/detections?pixels=0')
  })

  it('refuses an integer too large to be exact (JSON lost its digits), naming the param', () => {
    const p = problemOf('feature-images', { map_feature_id: 12345678901234567890 })
    expect(p.code).toBe('invalid_parameter')
    expect(p.detail).toMatch(/map_feature_id.*too large.*string/)
  })

  it('answers the synchronous endpoint’s problem for a bad value', () => {
    expect(problemOf('map-features', { bbox: '1,2,3' })).toMatchObject({ status: 400, code: 'invalid_bbox' })
    expect(problemOf('map-features', {})).toMatchObject({ status: 400, code: 'invalid_bbox' })
    expect(problemOf('map-features', { bbox: '1,2,3,4', fields: 'secret' })).toMatchObject({ status: 400, code: 'invalid_parameter' })
    expect(problemOf('sequence-detections', { sequence_id: 'bad id!' })).toMatchObject({ status: 400, code: 'invalid_parameter' })
    expect(problemOf('sequence-detections', { sequence_id: 'abc', pixels: 'maybe' }).detail).toMatch(/pixels/)
    expect(problemOf('image-detections', { image_id: '-1' })).toMatchObject({ status: 400, code: 'invalid_parameter' })
    expect(problemOf('image-detections', {}).detail).toBe("Param 'image_id' is required.")
  })

  it('refuses unknown names, non-scalar values and params that are not an object', () => {
    expect(problemOf('image-detections', { image_id: '1', bbox: '1,2,3,4' }).detail).toMatch(/'bbox' is not a parameter of the image-detections task; it takes image_id/)
    expect(problemOf('image-detections', { image_id: ['1'] }).detail).toMatch(/string, a number or a boolean/)
    expect(problemOf('image-detections', { image_id: null }).code).toBe('invalid_parameter')
    for (const params of [null, [], 'x', 5]) expect(problemOf('image-detections', params).code).toBe('invalid_body')
  })

  it('names every task’s params', () => {
    expect(Object.fromEntries(JOB_TASKS.map((t) => [t, jobParamNames(t)]))).toEqual({
      'map-features': ['bbox', 'object_values', 'fields', 'format'],
      'sequence-detections': ['sequence_id', 'fields', 'pixels'],
      'image-detections': ['image_id'],
      'feature-images': ['map_feature_id'],
    })
  })
})

describe('format of a map-features answer (geojson or the geojsonseq stream)', () => {
  it('the query parameter: geojson or geojsonseq, once; absent stays absent (the Accept header decides)', () => {
    expect(mapFeaturesQuery.parse({ bbox: '1,2,3,4', format: 'geojsonseq' }).format).toBe('geojsonseq')
    expect('format' in mapFeaturesQuery.parse({ bbox: '1,2,3,4' })).toBe(false)
    const bad = mapFeaturesQuery.safeParse({ bbox: '1,2,3,4', format: 'csv' })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.message).toBe('must be geojson or geojsonseq')
    expect(mapFeaturesQuery.safeParse({ bbox: '1,2,3,4', format: ['geojson', 'geojson'] }).error?.issues[0]?.message).toBe('must be given only once')
  })

  it('answerFormat: format wins over Accept; Accept asks for the stream only by its exact type with q above 0', () => {
    expect(answerFormat(undefined, undefined)).toBe('geojson')
    expect(answerFormat(undefined, 'application/geo+json-seq')).toBe('geojsonseq')
    expect(answerFormat(undefined, 'application/json, Application/GEO+JSON-SEQ;q=0.5')).toBe('geojsonseq')
    expect(answerFormat(undefined, 'application/geo+json-seq;q=0')).toBe('geojson')
    expect(answerFormat(undefined, 'application/geo+json, */*')).toBe('geojson')
    expect(answerFormat(undefined, 'application/geo+json-sequence')).toBe('geojson')
    expect(answerFormat('geojson', 'application/geo+json-seq')).toBe('geojson')
    expect(answerFormat('geojsonseq', 'application/geo+json')).toBe('geojsonseq')
  })

  it('a job refuses geojsonseq (its result is GeoJSON, stored whole) with a 400 naming format; geojson is the default, left out of the path', () => {
    const p = problemOf('map-features', { bbox: '1,2,3,4', format: 'geojsonseq' })
    expect(p).toMatchObject({ status: 400, code: 'invalid_parameter', invalid_params: [{ name: 'format' }] })
    expect(p.detail).toMatch(/^Param 'format' must be geojson for a job/)
    expect(path('map-features', { bbox: '1,2,3,4', format: 'geojson' })).toBe('/v1/map-features?bbox=1%2C2%2C3%2C4')
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('task params, pinned', () => {
  it('the path schemas read their one member', () => {
    expect(sequenceDetectionsPath.parse({ sequenceId: 'a_b-C' })).toEqual({ sequenceId: 'a_b-C' })
    expect(imageDetectionsPath.parse({ imageId: '361705751724011' })).toEqual({ imageId: '361705751724011' })
    expect(mapFeaturePath.parse({ mapFeatureId: '897467189777867' })).toEqual({ mapFeatureId: '897467189777867' })
    expect(imageDetectionsPath.safeParse({ imageId: 'abc' }).success).toBe(false)
  })

  it('isJobTask knows the four tasks and nothing else', () => {
    expect(JOB_TASKS.map(isJobTask)).toEqual([true, true, true, true])
    expect(['jobs', 'map_features', '', 5, null].map(isJobTask)).toEqual([false, false, false, false, false])
  })

  it('params that are not an object: the problem lists the task’s params', () => {
    expect(problemOf('map-features', 'bbox=1,2,3,4')).toMatchObject({
      code: 'invalid_body',
      detail: "Body member 'params' must be an object of the map-features task's parameters (bbox, object_values, fields, format).",
    })
  })

  it('an unknown param: named (cut at 40 characters) in the detail and in invalid_params', () => {
    const name = 'n'.repeat(50)
    expect(problemOf('sequence-detections', { sequence_id: 'abc', [name]: '1' })).toMatchObject({
      code: 'invalid_parameter',
      detail: `Param '${'n'.repeat(40)}' is not a parameter of the sequence-detections task; it takes sequence_id, fields, pixels.`,
      invalid_params: [{ name: 'n'.repeat(40), reason: 'unknown parameter' }],
    })
  })

  it('a value of the wrong kind, or a number JSON read as Infinity, is named in invalid_params', () => {
    expect(problemOf('image-detections', { image_id: { id: 1 } })).toMatchObject({
      code: 'invalid_parameter',
      invalid_params: [{ name: 'image_id', reason: 'must be a string, a number or a boolean' }],
    })
    expect(problemOf('image-detections', JSON.parse('{"image_id": 1e999}'))).toMatchObject({
      detail: "Param 'image_id' must be a finite number.",
      invalid_params: [{ name: 'image_id', reason: 'must be a finite number' }],
    })
  })
})
