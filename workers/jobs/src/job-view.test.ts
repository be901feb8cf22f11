import { describe, expect, it } from 'vitest'
import { problem } from '../../../shared/problem/problem'
import { finalProgress, jobStatus, mergeProgress, pendingEvents, seenAll, type JobRow } from './job-view'

const ID = '0123456789abcdef0123456789abcdef'
const row = (over: Partial<JobRow> = {}): JobRow => ({
  id: ID,
  task: 'map-features',
  path: '/v1/map-features?bbox=1%2C2%2C3%2C4',
  clientToken: false,
  state: 'running',
  progress: { done: 2, total: 8 },
  progressSeq: 3,
  seq: 3,
  retries: 0,
  createdAt: Date.UTC(2026, 11, 1),
  updatedAt: Date.UTC(2026, 11, 1, 0, 0, 5),
  expiresAt: Date.UTC(2026, 11, 2),
  ...over,
})

describe('jobStatus', () => {
  it('answers the public shape, URLs under the origin, times as ISO text', () => {
    expect(jobStatus(row(), 'https://api.example')).toEqual({
      id: ID,
      task: 'map-features',
      state: 'running',
      progress: { done: 2, total: 8 },
      result_url: `https://api.example/v1/jobs/${ID}/result`,
      created_at: '2026-12-01T00:00:00.000Z',
      updated_at: '2026-12-01T00:00:05.000Z',
      expires_at: '2026-12-02T00:00:00.000Z',
    })
  })

  it('names the problem of a failed job, and never the path or callback', () => {
    const p = problem('upstream_error', 'x')
    const s = jobStatus(row({ state: 'failed', problem: p, seq: 4, callbackUrl: 'https://hooks.example/x' }), 'https://api.example')
    expect(s.problem).toEqual(p)
    expect(JSON.stringify(s)).not.toContain('hooks.example')
    expect(JSON.stringify(s)).not.toContain('bbox')
  })
})

describe('pendingEvents', () => {
  it('sends a new client the latest progress, and nothing more while running', () => {
    expect(pendingEvents(row(), 0, 'o')).toEqual([{ id: 3, event: 'progress', data: { done: 2, total: 8 } }])
    expect(pendingEvents(row(), 3, 'o')).toEqual([])
  })

  it('sends the terminal event after the last progress, each once', () => {
    const done = row({ state: 'done', progress: { done: 8, total: 8 }, progressSeq: 4, seq: 5 })
    expect(pendingEvents(done, 3, 'o').map((m) => [m.id, m.event])).toEqual([
      [4, 'progress'],
      [5, 'done'],
    ])
    expect(pendingEvents(done, 4, 'o').map((m) => m.event)).toEqual(['done'])
    expect(pendingEvents(done, 5, 'o')).toEqual([])
    expect(seenAll(done, 5)).toBe(true)
    expect(seenAll(done, 4)).toBe(false)
    expect(seenAll(row(), 99)).toBe(false)
  })

  it('a failed job ends with its problem', () => {
    const p = problem('not_found', 'gone')
    expect(pendingEvents(row({ state: 'failed', problem: p, seq: 4 }), 3, 'o')).toEqual([{ id: 4, event: 'failed', data: p }])
  })
})

describe('mergeProgress', () => {
  it('moves forward only, total never below done', () => {
    expect(mergeProgress({ done: 0, total: 0 }, { done: 3, total: 10 })).toEqual({ done: 3, total: 10 })
    expect(mergeProgress({ done: 3, total: 10 }, { done: 2, total: 12 })).toEqual({ done: 3, total: 12 })
    expect(mergeProgress({ done: 3, total: 10 }, { done: 5, total: 0 })).toEqual({ done: 5, total: 10 })
    expect(mergeProgress({ done: 3, total: 10 }, { done: 12, total: 11 })).toEqual({ done: 12, total: 12 })
  })

  it('answers null when nothing changed or the report is not a progress', () => {
    expect(mergeProgress({ done: 3, total: 10 }, { done: 3, total: 10 })).toBeNull()
    expect(mergeProgress({ done: 3, total: 10 }, { done: 1, total: 4 })).toBeNull()
    for (const r of [null, undefined, {}, { done: '4', total: 5 }, { done: -1, total: 5 }, { done: Number.NaN, total: 5 }, { done: 1 }]) {
      expect(mergeProgress({ done: 0, total: 0 }, r)).toBeNull()
    }
  })

  it('a finished job is all done, 1 of 1 when the task never said', () => {
    expect(finalProgress({ done: 7, total: 9 })).toEqual({ done: 9, total: 9 })
    expect(finalProgress({ done: 0, total: 0 })).toEqual({ done: 1, total: 1 })
  })
})
