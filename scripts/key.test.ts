import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { API_KEY_PATTERN, keyRecordName, sentKey } from '../workers/gateway/src/api-key'
import { newKey, parseArgs } from './key.mjs'

describe('newKey', () => {
  it('makes a key the gateway accepts, named in KV by the gateway’s own hash of it', async () => {
    const now = new Date('2026-12-01T18:00:00Z')
    const { key, recordName, record } = newKey('alice', { limit: 1200, now })
    expect(key).toMatch(API_KEY_PATTERN)
    expect(sentKey(new Headers({ authorization: `Bearer ${key}` }))).toBe(key)
    expect(recordName).toBe(await keyRecordName(key))
    expect(record).toEqual({ id: recordName.slice(4, 16), name: 'alice', limit: 1200, created_at: '2026-12-01T18:00:00.000Z' })
    expect(JSON.stringify(record)).not.toContain(key.slice(5))
  })

  it('never makes the same key twice', () => {
    const keys = new Set(Array.from({ length: 200 }, () => newKey('k').key))
    expect(keys.size).toBe(200)
  })
})

describe('parseArgs', () => {
  it('reads the three commands and their options', () => {
    expect(parseArgs(['create', 'alice', '--limit', '1200'])).toEqual({ command: 'create', name: 'alice', limit: 1200, remote: false })
    expect(parseArgs(['list', '--remote'])).toEqual({ command: 'list', remote: true })
    expect(parseArgs(['revoke', 'eca1a844faac', '--persist-to', '/tmp/x'])).toEqual({ command: 'revoke', name: 'eca1a844faac', remote: false, persistTo: '/tmp/x' })
  })

  it('refuses what it cannot do', () => {
    for (const argv of [[], ['make', 'x'], ['create'], ['revoke'], ['list', 'x'], ['create', 'a b'], ['create', 'x', '--limit', '0'], ['create', 'x', '--limit', 'many'], ['create', 'x', '--force'], ['list', '--remote', '--persist-to', '/tmp']]) {
      expect(parseArgs(argv).error, argv.join(' ')).toEqual(expect.any(String))
    }
  })
})

describe('npm run key on local state', () => {
  it('creates (printing the key once), lists and revokes a key, keeping only its hash', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mly-keys-'))
    const key = (...args: string[]) => execFileSync(process.execPath, ['scripts/key.mjs', ...args, '--persist-to', dir], { encoding: 'utf8' })
    try {
      const created = key('create', 'alice', '--limit', '50')
      const printed = created.match(/mlyk_[A-Za-z0-9_-]{43}/g)
      expect(printed).toHaveLength(1)
      const id = created.match(/id ([0-9a-f]{12})/)![1]!
      const listed = key('list')
      expect(listed.trim().split('\n').map((l) => l.split('\t').slice(0, 3))).toEqual([[id, 'alice', '50']])
      expect(listed).not.toContain(printed![0]!.slice(5))
      expect(key('revoke', 'alice')).toContain(`'alice' (id ${id})`)
      expect(key('list')).toContain('No keys in')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
