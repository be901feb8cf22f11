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

/**
 * A process's `/proc/<pid>/stat`: its name and the fields after it (`pid (comm) state ppid …`; comm
 * may hold spaces, so the fields start after the last ')': state is fields[0], ppid fields[1],
 * utime fields[11], stime fields[12]). Throws when the process is gone.
 */
function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const close = stat.lastIndexOf(')')
  return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') }
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
      const { comm: name, fields } = procStat(d)
      comm.set(Number(d), name)
      parent.set(Number(d), Number(fields[1]))
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

/**
 * CPU seconds (user + system, all threads) the processes `pids` have used so far; a difference of
 * two readings is what a run cost them, whatever its wall time on a shared machine.
 * @example const t0 = cpuSeconds(pids); await work(); const spent = cpuSeconds(pids) - t0
 */
export function cpuSeconds(pids) {
  let ticks = 0
  for (const pid of pids) {
    try {
      const { fields } = procStat(pid)
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // A process that is gone counts nothing more.
    }
  }
  // USER_HZ: 100 on Linux for every architecture the bench runs on.
  return ticks / 100
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

/**
 * Used V8 heap of each isolate of workerd processes, sampled through their inspectors
 * (`Runtime.getHeapUsage`, every `everyMs`) between `start` and `stop`: the peak per isolate, MB.
 * workerd runs one isolate per Worker; a Worker's Durable Objects (here the sweep object and its
 * helpers) share it, so a Worker's peak is everything its code held at once. Used heap counts
 * garbage not yet collected, so it bounds the live heap from above. A sample waits while the
 * isolate runs JavaScript (the inspector takes the isolate's lock), so a peak held only inside one
 * long synchronous step is read just after it.
 * @example const heap = await HeapSampler.connect([{ port: 32603 }]); heap.start(); … heap.stop() // { 'map-features': 31.2, … }
 */
export class HeapSampler {
  #targets
  #everyMs
  #peaks = new Map()
  #running = false
  #loop

  constructor(targets, everyMs) {
    this.#targets = targets
    this.#everyMs = everyMs
  }

  /** Connects to every Worker (`core:user:<name>`) the inspectors at `ports` list. */
  static async connect(ports, everyMs = 20) {
    const targets = []
    for (const port of ports) {
      let list = []
      try {
        list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()
      } catch {
        continue
      }
      for (const t of list) {
        if (!t.id.startsWith('core:user:')) continue
        targets.push(await inspectorSession(t.webSocketDebuggerUrl, t.id.slice('core:user:'.length)))
      }
    }
    return new HeapSampler(targets, everyMs)
  }

  /** Worker names reached. */
  get names() {
    return this.#targets.map((t) => t.name)
  }

  /** A DevTools Protocol call on the named Worker's isolate (e.g. `Profiler.start`). */
  call(name, method, params) {
    const t = this.#targets.find((x) => x.name === name)
    if (!t) throw new Error(`no inspector for ${name}`)
    return t.call(method, params)
  }

  /** Used heap of each isolate now, MB. */
  async now() {
    const out = {}
    await Promise.all(this.#targets.map(async (t) => (out[t.name] = (await t.call('Runtime.getHeapUsage')).usedSize / 2 ** 20)))
    return out
  }

  start() {
    this.#peaks = new Map()
    this.#running = true
    this.#loop = (async () => {
      while (this.#running) {
        await Promise.all(
          this.#targets.map(async (t) => {
            const mb = (await t.call('Runtime.getHeapUsage')).usedSize / 2 ** 20
            if (!(this.#peaks.get(t.name) >= mb)) this.#peaks.set(t.name, mb)
          }),
        )
        await new Promise((r) => setTimeout(r, this.#everyMs))
      }
    })()
  }

  /** Stops sampling: the peak used heap per Worker, MB (one more sample taken at the end). */
  async stop() {
    this.#running = false
    await this.#loop
    for (const [name, mb] of Object.entries(await this.now())) if (!(this.#peaks.get(name) >= mb)) this.#peaks.set(name, mb)
    return Object.fromEntries(this.#peaks)
  }

  close() {
    this.#running = false
    for (const t of this.#targets) t.close()
  }
}

/** A Chrome DevTools Protocol session on one inspector target: `call(method, params)` → result. */
async function inspectorSession(url, name) {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = () => reject(new Error(`inspector ${url} refused`))
  })
  let next = 0
  const pending = new Map()
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data)
    const p = pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    if (m.error) p.reject(new Error(`${name}: ${m.error.message}`))
    else p.resolve(m.result)
  }
  return {
    name,
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next
        pending.set(id, { resolve, reject })
        ws.send(JSON.stringify({ id, method, params }))
      }),
    close: () => ws.close(),
  }
}
