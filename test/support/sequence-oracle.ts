/**
 * @module
 * The expected public body of a sequence's detections, computed from the stand-in's own per-image
 * routes (each image's `/{id}/detections`, and its `/{id}?fields=width,height` for pixels), never
 * from the product: keys `id`, then the asked fields in alphabetical order (the API's normal form),
 * and `pixel_geometry` from the shared decoder. Used by the runtime and the e2e tests alike.
 */
import { withPixels } from '../../shared/mvt/with-pixels'
import { mapLimited } from './map-limited'

/** GET of a stand-in Graph path with the token, answering the parsed JSON (throws on a non-2xx). */
export type StandInGet = <T>(path: string) => Promise<T>

/**
 * The body `GET /v1/sequences/{id}/detections?fields=…&pixels=…` must answer, byte for byte.
 * @example const body = await expectedSequenceBody(get, 'kx7r2uYeFwT6XCfvqh30VZ', ['id', 'value'], false)
 */
export async function expectedSequenceBody(get: StandInGet, sequenceId: string, fields: string[], pixels: boolean): Promise<string> {
  const ids = (await get<{ data: { id: string }[] }>(`/image_ids?sequence_id=${sequenceId}`)).data.map((d) => String(d.id))
  const keys = ['id', ...[...new Set(fields)].filter((f) => f !== 'id').sort()]
  const ask = [...new Set([...keys, ...(pixels ? ['geometry'] : [])])].join(',')
  const unique = [...new Set(ids)]
  const lists = await mapLimited(unique, 8, async (id) => {
    const list = await get<{ data: Array<Record<string, unknown>> }>(`/${id}/detections?fields=${ask}`)
    const size = pixels ? await get<{ width: number; height: number }>(`/${id}?fields=width,height`) : undefined
    return list.data.map((d) => {
      const out: Record<string, unknown> = {}
      for (const k of keys) if (k in d) out[k] = d[k]
      if (size) {
        const drawn = withPixels(d, size.width, size.height)
        out.pixel_geometry = drawn.pixel_geometry
        if (drawn.pixel_geometry_error) out.pixel_geometry_error = drawn.pixel_geometry_error
      }
      return out
    })
  })
  const entries = unique.map((id, i) => `${JSON.stringify(id)}:${JSON.stringify(lists[i])}`)
  return `{"sequence_id":${JSON.stringify(sequenceId)},"image_ids":${JSON.stringify(ids)},"detections":{${entries.join(',')}}}`
}
