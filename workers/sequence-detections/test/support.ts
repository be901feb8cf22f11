/**
 * Helpers for the sequence-detections runtime tests: the Worker under test, the Graph API
 * stand-in (control routes, stats, direct reads) and the sweep objects' storage.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import type { SliceRow } from '../../../shared/engine/job-store'
import type { SequenceSweep } from '../src/sequence-sweep'
import { exports } from 'cloudflare:workers'
import { upstreamIdentity, type UpstreamIdentity } from '../../../shared/upstream/identity'
import { normalizeParams, sweepName, type SweepParams } from '../src/params'

export const BUDGET = Number(env.SUBREQUEST_BUDGET)

export interface StandInStats {
  requests: number
  byRoute: Record<string, number>
  statuses: Record<string, number>
  faults: Record<string, number>
  tokensSeen: string[]
  maxInFlight: number
}

export interface WorldSequence {
  id: string
  length: number
  label: string
}

async function control<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${env.MAPILLARY_GRAPH_URL}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  if (!res.ok) throw new Error(`stand-in ${path}: HTTP ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

export const standIn = {
  config: (patch: Record<string, unknown>) => control<Record<string, unknown>>('/__sandbox/config', patch),
  reset: () => control<unknown>('/__sandbox/reset', {}),
  stats: () => control<StandInStats>('/__sandbox/stats'),
  sequences: async () => (await control<{ sequences: WorldSequence[] }>('/__sandbox/truth/world')).sequences,
  /** A Graph read with the server token, straight to the stand-in (counts in its stats). */
  get: async <T>(path: string): Promise<T> => {
    const res = await fetch(`${env.MAPILLARY_GRAPH_URL}${path}`, { headers: { authorization: `OAuth ${env.MAPILLARY_ACCESS_TOKEN}` } })
    if (!res.ok) throw new Error(`stand-in GET ${path}: HTTP ${res.status}`)
    return (await res.json()) as T
  },
}

/** Per-route request counts between two stats snapshots. */
export function delta(before: StandInStats, after: StandInStats): Record<string, number> & { total: number } {
  const out: Record<string, number> & { total: number } = { total: after.requests - before.requests }
  for (const [k, v] of Object.entries(after.byRoute)) out[k] = v - (before.byRoute[k] ?? 0)
  return out
}

export function callWorker(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://mly.test${path}`, init)
}

export function sweepStub(sequence_id: string, fields: string[] = ['id', 'value', 'geometry'], pixels = false, identity: UpstreamIdentity = 'server') {
  return env.SEQUENCE_SWEEP.getByName(sweepName(normalizeParams({ sequence_id, fields, pixels }), identity))
}

/**
 * Plans a question in its sweep object without running it (the first alarm does), as the object
 * would for `run`: the engine's own `prepare`, called inside the object, under the name the object
 * gives the question (normalised params, the caller's identity).
 */
export async function prepareSweep(stub: DurableObjectStub<SequenceSweep>, input: SweepParams, clientToken?: string) {
  const params = normalizeParams(input)
  const name = sweepName(params, await upstreamIdentity(clientToken, env))
  return runInDurableObject(stub, (instance: SequenceSweep) => instance.runner.prepare(name, params, clientToken))
}

/** One slice of a sweep object (the engine's `slices` rows, as `progress().slices` gives them). */
export type SliceRecord = SliceRow

/** The `slices` of a sweep object, read inside the object. */
export function slicesOf(stub: DurableObjectStub<SequenceSweep>): Promise<SliceRecord[]> {
  return runInDurableObject(stub, (instance: SequenceSweep) => instance.runner.store.slices())
}

/** Every value of every table of a sweep object, as text (to look for anything that should not be there). */
export function storageText(stub: DurableObjectStub): Promise<string> {
  return runInDurableObject(stub, (_instance, state) => {
    const tables = state.storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`).toArray()
    const dump: unknown[] = []
    for (const { name } of tables) {
      if (!/^[a-z_]+$/.test(name)) continue
      dump.push(name, state.storage.sql.exec(`SELECT * FROM ${name}`).toArray())
    }
    return JSON.stringify(dump)
  })
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('waitFor: timed out')
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
