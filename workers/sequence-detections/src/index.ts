/**
 * @module
 * mly-sequence-detections: the image ids of a sequence, then every image's detections.
 */
import { z } from 'zod'
import { answer } from '../../../shared/http/answer'
import { fail } from '../../../shared/http/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { booleanParam, fieldsParam, sequenceId, validate } from '../../../shared/http/validation'
import { cacheKey, cached, TTL } from '../../../shared/cache/kv-cache'
import { withPixels } from '../../../shared/mvt/with-pixels'
import { clientForRequest } from '../../../shared/upstream/request-client'
import type { Env } from './env'

const DETECTION_FIELDS = ['id', 'value', 'geometry', 'created_at', 'image'] as const
const DEFAULT_FIELDS = ['id', 'value', 'geometry'] as const

interface Detection {
  id: string
  geometry?: string
  [field: string]: unknown
}

const params = z.object({ sequenceId })
const query = z.object({ fields: fieldsParam(DETECTION_FIELDS, DEFAULT_FIELDS), pixels: booleanParam })

const app = createTaskApp<{ Bindings: Env }>('mly-sequence-detections')

app.get('/v1/sequences/:sequenceId/detections', validate('param', params), validate('query', query), async (c) => {
  const { sequenceId: sequence_id } = c.req.valid('param')
  const { fields, pixels } = c.req.valid('query')
  const key = await cacheKey('seq-detections', { sequence_id, fields: fields.join(','), pixels })
  let client: ReturnType<typeof clientForRequest> | undefined
  const { value, hit } = await cached(
    c.env.CACHE,
    key,
    TTL.detections,
    async () => {
      client = clientForRequest(c.env, c.req.header('authorization'))
      const ids = await client.get<{ data: { id: string }[] }>('/image_ids', { sequence_id })
      const imageIds = ids.data.map((d) => d.id)
      if (imageIds.length === 0) fail('not_found', `Sequence '${sequence_id}' does not exist or has no images.`)
      // pixel_geometry needs the geometry whatever fields were asked for
      const upstreamFields = [...new Set(['id', ...fields, ...(pixels ? ['geometry'] : [])])].join(',')
      const perImage = await Promise.all(
        imageIds.map(async (id) => {
          const [list, size] = await Promise.all([
            client!.get<{ data: Detection[] }>(`/${id}/detections`, { fields: upstreamFields }),
            pixels ? client!.get<{ width: number; height: number }>(`/${id}`, { fields: 'width,height' }) : undefined,
          ])
          const detections = size ? list.data.map((d) => pick(withPixels(d, size.width, size.height), fields, true)) : list.data.map((d) => pick(d, fields, false))
          return [id, detections] as const
        }),
      )
      return { sequence_id, image_ids: imageIds, detections: Object.fromEntries(perImage) }
    },
    { defer: (p) => c.executionCtx.waitUntil(p) },
  )
  return answer(value, { maxAge: 3600, hit, upstreamRequests: client?.stats.requests })
})

/** `id` and the asked fields, as the upstream answers them, plus pixels when asked. */
function pick(d: Record<string, unknown>, fields: readonly string[], pixels: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of ['id', ...fields]) if (f in d) out[f] = d[f]
  if (pixels) {
    out.pixel_geometry = d.pixel_geometry
    if (d.pixel_geometry_error) out.pixel_geometry_error = d.pixel_geometry_error
  }
  return out
}

export default app
