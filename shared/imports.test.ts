/**
 * The folders of shared/ import one another in one direction only: no folder uses one that uses
 * it back, however far round (read from the source, so a new import that closes a loop fails here).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname)

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : []
  })
}

/** folder → the other shared folders its modules import. */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const folder of readdirSync(ROOT).filter((n) => statSync(join(ROOT, n)).isDirectory())) {
    const uses = new Set<string>()
    for (const file of sources(join(ROOT, folder))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/from '\.\.\/([a-z-]+)\//g)) if (m[1] !== folder) uses.add(m[1]!)
    }
    graph.set(folder, uses)
  }
  return graph
}

/** A loop of folders, or null. */
function findLoop(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'closed'>()
  const path: string[] = []
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'closed') return null
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node]
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      const loop = visit(next)
      if (loop) return loop
    }
    path.pop()
    state.set(node, 'closed')
    return null
  }
  for (const node of graph.keys()) {
    const loop = visit(node)
    if (loop) return loop
  }
  return null
}

describe('shared/ folder imports', () => {
  it('form no loop', () => {
    const graph = folderGraph()
    // The graph is read for real: the engine uses upstream, upstream uses problem.
    expect(graph.get('engine')?.has('upstream')).toBe(true)
    expect(graph.get('upstream')?.has('problem')).toBe(true)
    expect(findLoop(graph)).toBeNull()
  })

  it('would see a loop', () => {
    const graph = new Map([
      ['http', new Set(['upstream'])],
      ['upstream', new Set(['problem', 'http'])],
      ['problem', new Set<string>()],
    ])
    expect(findLoop(graph)).toEqual(['http', 'upstream', 'http'])
  })
})
