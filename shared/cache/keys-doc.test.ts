/**
 * KEYS.md documents every KV key the Workers write, and only those: read from the source, so a
 * new `cacheKey('<kind>', …)` without its row (or a row no code writes any more) fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { traitsKey } from '../upstream/traits'

const WORKERS = join(import.meta.dirname, '..', '..', 'workers')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [path] : []
  })
}

/** The kinds the Workers' code passes to `cacheKey`, and the upstream traits' key (shared/upstream builds it itself). */
async function writtenKinds(): Promise<Set<string>> {
  const kinds = new Set<string>([(await traitsKey('https://graph.mapillary.com')).split(':')[0]!])
  for (const file of sources(WORKERS)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/cacheKey\(\s*'([^']+)'/g)) kinds.add(m[1]!)
  }
  return kinds
}

/** The kinds of KEYS.md's table that are KV keys (not the rows naming Durable Objects). */
function documentedKinds(): Set<string> {
  const doc = readFileSync(join(import.meta.dirname, 'KEYS.md'), 'utf8')
  const kinds = new Set<string>()
  for (const m of doc.matchAll(/^\| `([^`]+)`( \(Durable Object name[^|]*)? \|/gm)) if (!m[2]) kinds.add(m[1]!)
  return kinds
}

describe('KEYS.md', () => {
  it('has a row for every kind of KV key the Workers write, and none for a kind nobody writes', async () => {
    const written = await writtenKinds()
    // Read for real: the sequence answer and the box answer are among them.
    expect(written.has('seq-detections') && written.has('mf-bbox')).toBe(true)
    expect([...documentedKinds()].sort()).toEqual([...written].sort())
  })
})
