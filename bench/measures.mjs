/**
 * @module
 * The benchmark's measures, apart from its runs: rounds of a sweep read from the cells it asked,
 * the round-aware bound, answers per minute under the Mapillary app quota, a wrangler.toml var,
 * and the RSS of the product's workerd process(es) sampled while a case runs.
 */
import { readdirSync, readFileSync } from 'node:fs'

/**
 * Cells per round of a box's sweep, from the cells it asked (`[w, s, e, n]` each): a cell's round
 * is 1 + the number of other asked cells that contain it (its ancestors: a split's children lie
 * inside their parent and are asked only after its answer; siblings and cousins only touch).
 * Identical boxes count once.
 * @example cellRounds([[0, 0, 2, 2], [0, 0, 1, 2], [1, 0, 2, 2]]) // [1, 2]
 */
export function cellRounds(cells) {
  const unique = [...new Map(cells.map((c) => [c.join(','), c])).values()]
  const rounds = []
  for (const depth of cellDepths(unique)) rounds[depth] = (rounds[depth] ?? 0) + 1
  return Array.from(rounds, (n) => n ?? 0)
}

/**
 * Each cell's round, from 0: how many other asked cells (other boxes) contain it.
 * @example cellDepths([[0, 0, 2, 2], [0, 0, 1, 2]]) // [0, 1]
 */
export function cellDepths(cells) {
  const contains = (p, c) => p[0] <= c[0] && p[1] <= c[1] && p[2] >= c[2] && p[3] >= c[3]
  const key = (c) => c.join(',')
  return cells.map((cell) => {
    const mine = key(cell)
    const ancestors = new Set()
    for (const other of cells) if (key(other) !== mine && contains(other, cell)) ancestors.add(key(other))
    return ancestors.size
  })
}

/**
 * Σ over rounds r of ceil(cells_r / connections) × round trip: a round waits for the one before it.
 * @example roundAwareBound([1, 7, 40], 6, 0.06) // (1 + 2 + 7) × 0.06 = 0.6
 */
export function roundAwareBound(rounds, connections, roundTripSeconds) {
  return rounds.reduce((sum, cells) => sum + Math.ceil(cells / connections), 0) * roundTripSeconds
}

/**
 * Connections a box round holds: 6 per invocation, for the sweep object and each helper.
 * @example connectionsWith(16) // 102
 */
export function connectionsWith(helpers) {
  return 6 * (1 + Math.max(0, helpers))
}

/**
 * Answers a minute the Mapillary app quota allows at this cost per answer: search requests
 * (`/map_features`, `/images`) against 10,000/min, entity requests (the rest) against 50,000/min;
 * the tighter one limits.
 * @example quotaAnswersPerMinute({ search: 10, entity: 0 }) // { answers: 1000, limit: 'search' }
 */
export function quotaAnswersPerMinute({ search, entity }) {
  const bySearch = search > 0 ? quotaAnswersPerMinute.SEARCH / search : Infinity
  const byEntity = entity > 0 ? quotaAnswersPerMinute.ENTITY / entity : Infinity
  return bySearch <= byEntity ? { answers: bySearch, limit: 'search' } : { answers: byEntity, limit: 'entity' }
}
quotaAnswersPerMinute.SEARCH = 10_000
quotaAnswersPerMinute.ENTITY = 50_000

/**
 * A `[vars]` value of a wrangler.toml (`NAME = "value"`, uncommented), or undefined.
 * @example tomlVar('workers/map-features/wrangler.toml', 'BOX_HELPERS') // '16'
 */
export function tomlVar(path, name) {
  try {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, 'm').exec(readFileSync(path, 'utf8'))
    return m ? m[1] : undefined
  } catch {
    return undefined
  }
}

/** Pids of the workerd processes descending from this one (Linux /proc; [] elsewhere). */
export function workerdPids(root = process.pid) {
  const parent = new Map()
  const comm = new Map()
  let entries = []
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return []
  }
  for (const d of entries) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
      const close = stat.lastIndexOf(')')
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === root) return true
    return false
  }
  return [...comm].filter(([pid, name]) => name.startsWith('workerd') && descends(pid)).map(([pid]) => pid)
}

/** RSS of the given processes (summed) in MB, sampled every `everyMs` between `start` and `stop`. */
export class RssSampler {
  #pids
  #everyMs
  #timer
  #baseline = 0
  #peak = 0

  constructor(pids, everyMs = 20) {
    this.#pids = pids
    this.#everyMs = everyMs
  }

  /** The RSS of each process now, MB (NaN for one that cannot be read). */
  perPid() {
    return this.#pids.map((pid) => {
      try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        return { pid, mb: m ? Number(m[1]) / 1024 : NaN }
      } catch {
        return { pid, mb: NaN }
      }
    })
  }

  /** The summed RSS now, MB (NaN when no process can be read). */
  now() {
    const read = this.perPid().filter((p) => Number.isFinite(p.mb))
    return read.length > 0 ? read.reduce((a, p) => a + p.mb, 0) : NaN
  }

  start() {
    this.stop()
    this.#baseline = this.now()
    this.#peak = this.#baseline
    this.#timer = setInterval(() => {
      const v = this.now()
      if (v > this.#peak) this.#peak = v
    }, this.#everyMs)
  }

  /** Stops sampling; the peak − the baseline at `start`, MB. */
  stop() {
    if (this.#timer === undefined) return NaN
    clearInterval(this.#timer)
    this.#timer = undefined
    const v = this.now()
    if (v > this.#peak) this.#peak = v
    return this.#peak - this.#baseline
  }

  close() {
    this.stop()
  }
}
