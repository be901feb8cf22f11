import { describe, expect, it } from 'vitest'
import { JOB_TASKS, jobParamNames, jobRequest, mapFeaturesQuery, sequenceDetectionsQuery, type JobTask } from './task-params'

const path = (task: JobTask, params: unknown) => {
  const r = jobRequest(task, params)
  if (!r.ok) throw new Error(JSON.stringify(r.problem))
  return r.path
}
const problemOf = (task: JobTask, params: unknown) => {
  const r = jobRequest(task, params)
  expect(r.ok).toBe(false)
  return (r as { problem: { status: number; code: string; detail: string } }).problem
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
      'map-features': ['bbox', 'object_values', 'fields'],
      'sequence-detections': ['sequence_id', 'fields', 'pixels'],
      'image-detections': ['image_id'],
      'feature-images': ['map_feature_id'],
    })
  })
})
