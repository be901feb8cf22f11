/**
 * @module
 * Request schemas the document needs that no shared module exports: a job id, and the body of
 * `POST /v1/jobs` built from the very leaf schemas the task Workers validate with
 * (shared/http/task-params.ts), one object per task. Unit tests hold them to the jobs Worker's own
 * checks (`isJobId`, `jobParamNames`, `jobRequest`).
 */
import { z } from 'zod'
import { imageDetectionsPath, JOB_TASKS, mapFeaturePath, mapFeaturesQuery, sequenceDetectionsPath, sequenceDetectionsQuery, type JobTask } from '../../../../shared/http/task-params'

/**
 * A job id: 128 random bits as 32 lowercase hex digits (workers/jobs/src/job-id.ts).
 * @example jobIdParam.safeParse('0123456789abcdef0123456789abcdef').success // true
 */
export const jobIdParam = z.string().regex(/^[0-9a-f]{32}$/)

/** `callback_url`'s bound in the jobs Worker. */
const MAX_CALLBACK_URL = 2048

/**
 * Each task's params by name, with the synchronous endpoint's schema for each.
 * @example Object.keys(JOB_PARAMS['image-detections'].shape) // ['image_id']
 */
export const JOB_PARAMS: Record<JobTask, z.ZodObject> = {
  'map-features': mapFeaturesQuery,
  'sequence-detections': z.object({ sequence_id: sequenceDetectionsPath.shape.sequenceId, ...sequenceDetectionsQuery.shape }),
  'image-detections': z.object({ image_id: imageDetectionsPath.shape.imageId }),
  'feature-images': z.object({ map_feature_id: mapFeaturePath.shape.mapFeatureId }),
}

/** A param as a job takes it: the endpoint's string, or a number or boolean standing for its text. */
function loose(schema: z.ZodType): z.ZodType {
  return z.union([schema, z.number(), z.boolean()])
}

/** The params object of `task`: its names only (unknown names are refused), the same required ones. */
function jobParams(task: JobTask) {
  const shape = JOB_PARAMS[task].shape as Record<string, z.ZodType>
  return z.strictObject(Object.fromEntries(Object.entries(shape).map(([name, s]) => [name, s.safeParse(undefined).success ? loose(s).optional() : loose(s)])))
}

/** `bbox (required), object_values, fields`. */
function paramList(task: JobTask): string {
  const shape = JOB_PARAMS[task].shape as Record<string, z.ZodType>
  return Object.entries(shape).map(([name, s]) => (s.safeParse(undefined).success ? name : `${name} (required)`)).join(', ')
}

/**
 * `POST /v1/jobs` body: `{task, params, callback_url?}`, params depending on the task.
 * @example jobBody.safeParse({ task: 'image-detections', params: { image_id: 361705751724011 } }).success // true
 */
export const jobBody = z
  .discriminatedUnion(
    'task',
    JOB_TASKS.map((task) =>
      z.strictObject({
        task: z.literal(task),
        params: jobParams(task).meta({ description: `The ${task} endpoint's path and query parameters by name, same string values: ${paramList(task)}` }),
        callback_url: z.string().max(MAX_CALLBACK_URL).optional().meta({ description: 'Stored with the job; not called yet (webhooks come next)' }),
      }),
    ) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ id: 'JobRequest' })
