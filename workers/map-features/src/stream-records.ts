/**
 * @module
 * RFC 8142 records (`application/geo+json-seq`) of a box's features, from the two texts that hold
 * them: a finished cell's result (box-task.ts: `<id>\t<Feature JSON>` lines, a saturated cell's
 * first line `!<its bbox>`) and a cached FeatureCollection (feature-collection.ts). The Feature
 * texts are the plain answer's own, copied, never parsed and written again.
 */

/** RFC 8142: every record starts with RS (0x1E) and ends with LF. */
const RS = '\x1e'
/** box-task.ts marks a cell still at the upstream's cap at the floor with this first character. */
const SATURATED = '!'
/** The text featureCollectionJson (feature-collection.ts) writes around the features. */
const COLLECTION_HEAD = '{"type":"FeatureCollection","features":['
const COLLECTION_TAIL = ']}'

/**
 * One record: RS, the GeoJSON text, LF.
 * @example record('{"type":"Feature"}') // '\x1e{"type":"Feature"}\n'
 */
export function record(json: string): string {
  return `${RS}${json}\n`
}

/** What one finished cell gives the stream. */
export type CellRecords = { ok: true; text: string; features: number } | { ok: false; saturated: string }

/**
 * The records of a cell's features whose ids are not in `sent` (which it adds them to): a feature
 * on an edge shared by two cells goes out once, with its first cell's text, as in the plain answer.
 * A saturated cell answers its bbox instead: the box's answer would be cut.
 * @example cellRecords('1\t{"id":"1"}\n2\t{"id":"2"}', new Set(['2'])) // { ok: true, text: '\x1e{"id":"1"}\n', features: 1 }
 */
export function cellRecords(result: string, sent: Set<string>): CellRecords {
  if (result === '') return { ok: true, text: '', features: 0 }
  if (result.startsWith(SATURATED)) {
    const nl = result.indexOf('\n')
    return { ok: false, saturated: result.slice(1, nl < 0 ? undefined : nl) }
  }
  let text = ''
  let features = 0
  for (const line of result.split('\n')) {
    const tab = line.indexOf('\t')
    const id = line.slice(0, tab)
    if (sent.has(id)) continue
    sent.add(id)
    text += record(line.slice(tab + 1))
    features++
  }
  return { ok: true, text, features }
}

/**
 * The Feature texts of a FeatureCollection as featureCollectionJson wrote it, in order, found by a
 * scan that follows strings and nesting (nothing is parsed); null when the text is not of that
 * shape (then it is not ours to cut).
 * @example [...(collectionFeatures('{"type":"FeatureCollection","features":[{"a":1},{"b":"},"}]}') ?? [])] // ['{"a":1}', '{"b":"},"}']
 */
export function collectionFeatures(text: string): Iterable<string> | null {
  if (!text.startsWith(COLLECTION_HEAD) || !text.endsWith(COLLECTION_TAIL)) return null
  const end = text.length - COLLECTION_TAIL.length
  return {
    *[Symbol.iterator]() {
      let start = COLLECTION_HEAD.length
      let depth = 0
      let inString = false
      for (let i = start; i < end; i++) {
        const ch = text.charCodeAt(i)
        if (inString) {
          if (ch === 0x5c) i++ // backslash: the next character is escaped
          else if (ch === 0x22) inString = false
        } else if (ch === 0x22) inString = true
        else if (ch === 0x7b || ch === 0x5b) depth++
        else if (ch === 0x7d || ch === 0x5d) depth--
        else if (ch === 0x2c && depth === 0) {
          yield text.slice(start, i)
          start = i + 1
        }
      }
      if (end > start) yield text.slice(start, end)
    },
  }
}
