import { afterEach, describe, expect, it, vi } from 'vitest'
import { cached, cachedOrProduced, cachedText, cacheKey, clampTtl, readFresh, readKept, staleKey, storeText, TTL, writeKept, type KVLike } from './kv-cache'
import { fitsInKv } from './cached'

/** In-memory KVLike that records puts; `failGet`/`failPut` simulate an unreachable KV. */
function memoryKv(opts: { failGet?: boolean; failPut?: boolean } = {}) {
  const map = new Map<string, string>()
  const puts: { key: string; ttl?: number }[] = []
  const kv: KVLike = {
    async get(key) {
      if (opts.failGet) throw new Error('KV GET failed')
      return map.get(key) ?? null
    },
    async put(key, value, o) {
      puts.push({ key, ttl: o?.expirationTtl })
      if (opts.failPut) throw new Error('KV PUT failed')
      map.set(key, value)
    },
  }
  return { kv, map, puts }
}

describe('cacheKey', () => {
  it('is stable whatever the part order, ignoring undefined parts', async () => {
    const a = await cacheKey('mf-bbox', { bbox: '1,2,3,4', fields: 'id', object_values: undefined })
    const b = await cacheKey('mf-bbox', { fields: 'id', bbox: '1,2,3,4' })
    expect(a).toBe(b)
    expect(a).toMatch(/^mf-bbox:v1:[0-9a-f]{64}$/)
  })

  it('differs by kind and by value, including value types', async () => {
    const k = await cacheKey('entity', { id: '1' })
    expect(await cacheKey('seq-ids', { id: '1' })).not.toBe(k)
    expect(await cacheKey('entity', { id: '2' })).not.toBe(k)
    expect(await cacheKey('entity', { id: 1 })).not.toBe(k)
    expect(await cacheKey('seq-detections', { pixels: true })).not.toBe(await cacheKey('seq-detections', { pixels: 'true' }))
  })

  it('stays under 512 bytes', async () => {
    const k = await cacheKey('a'.repeat(64), { x: 'y'.repeat(10_000) })
    expect(new TextEncoder().encode(k).byteLength).toBeLessThanOrEqual(512)
  })

  it('rejects anything that looks like a token, without echoing it', async () => {
    await expect(cacheKey('entity', { id: '1', token: 'MLY|123|s3cr3t' })).rejects.toThrow(/token/)
    await expect(cacheKey('entity', { id: '1', token: 'mly|123|s3cr3t' })).rejects.not.toThrow(/s3cr3t/)
    await expect(cacheKey('entity', { 'MLY|x': 1 })).rejects.toThrow(/token/)
  })

  it('rejects bad kinds', async () => {
    await expect(cacheKey('Bad Kind', {})).rejects.toThrow(TypeError)
    await expect(cacheKey('x:v1', {})).rejects.toThrow(TypeError)
  })
})

describe('cached', () => {
  it('misses, stores JSON with the TTL, then hits without producing', async () => {
    const { kv, map, puts } = memoryKv()
    let produced = 0
    const produce = async () => ({ n: ++produced })
    expect(await cached(kv, 'k', TTL.detections, produce)).toEqual({ value: { n: 1 }, hit: false })
    expect(JSON.parse(map.get('k')!)).toEqual({ n: 1 })
    expect(puts).toEqual([{ key: 'k', ttl: 86400 }])
    expect(await cached(kv, 'k', TTL.detections, produce)).toEqual({ value: { n: 1 }, hit: true })
    expect(produced).toBe(1)
  })

  it('clamps the TTL to KV’s 60 s minimum', async () => {
    const { kv, puts } = memoryKv()
    await cached(kv, 'a', 5, async () => 1)
    await cached(kv, 'b', 0, async () => 1)
    await cached(kv, 'c', 90.2, async () => 1)
    expect(puts.map((p) => p.ttl)).toEqual([60, 60, 91])
    expect(clampTtl(Number.NaN)).toBe(60)
  })

  it('falls through to produce when KV reads fail, and survives failing writes', async () => {
    const broken = memoryKv({ failGet: true, failPut: true })
    expect(await cached(broken.kv, 'k', 300, async () => 'v')).toEqual({ value: 'v', hit: false })
    expect(broken.puts).toHaveLength(1)
  })

  it('treats a corrupt entry as a miss', async () => {
    const { kv, map } = memoryKv()
    map.set('k', '{not json')
    expect(await cached(kv, 'k', 300, async () => 'fresh')).toEqual({ value: 'fresh', hit: false })
    expect(map.get('k')).toBe('"fresh"')
  })

  it('works with no KV bound', async () => {
    expect(await cached(undefined, 'k', 300, async () => 7)).toEqual({ value: 7, hit: false })
  })

  it('hands the write to defer instead of awaiting it', async () => {
    const { kv, map } = memoryKv()
    const deferred: Promise<unknown>[] = []
    const r = await cached(kv, 'k', 300, async () => [1], { defer: (p) => void deferred.push(p) })
    expect(r.hit).toBe(false)
    expect(deferred).toHaveLength(1)
    await deferred[0]
    expect(map.has('k')).toBe(true)
    // A failing deferred write resolves quietly (waitUntil must not see a rejection).
    const broken = memoryKv({ failPut: true })
    const d2: Promise<unknown>[] = []
    await cached(broken.kv, 'k', 300, async () => 1, { defer: (p) => void d2.push(p) })
    await expect(d2[0]).resolves.toBeUndefined()
  })

  it('does not cache failures', async () => {
    const { kv, puts } = memoryKv()
    await expect(cached(kv, 'k', 300, async () => Promise.reject(new Error('upstream')))).rejects.toThrow('upstream')
    expect(puts).toHaveLength(0)
  })

  it('cachedText stores and answers the text as is', async () => {
    const { kv, map } = memoryKv()
    let produced = 0
    const produce = async () => `{"n":${++produced}}`
    expect(await cachedText(kv, 'k', 300, produce)).toEqual({ text: '{"n":1}', hit: false })
    expect(map.get('k')).toBe('{"n":1}')
    expect(await cachedText(kv, 'k', 300, produce)).toEqual({ text: '{"n":1}', hit: true })
    expect(produced).toBe(1)
    const broken = memoryKv({ failGet: true, failPut: true })
    expect(await cachedText(broken.kv, 'k', 300, produce)).toEqual({ text: '{"n":2}', hit: false })
  })

  it('skips values over 25 MiB', async () => {
    const { kv, puts } = memoryKv()
    const big = 'x'.repeat(25 * 1024 * 1024 + 1)
    expect((await cached(kv, 'k', 300, async () => big)).hit).toBe(false)
    expect(puts).toHaveLength(0)
  })
})

// Found by mutation testing (`npm run mutate`): each test below pins a value a mutant changed.
describe('cacheKey, pinned', () => {
  it('hashes the parts as JSON with sorted names, whatever the insertion order', async () => {
    // printf '%s' '{"bbox":"1,2,3,4","fields":"id","zoom":18}' | sha256sum
    const expected = 'mf-bbox:v1:5cbad5b8a43676bc84f318cdb0998bddc2b84d510d6f56817125fbd86fa8794b'
    expect(await cacheKey('mf-bbox', { zoom: 18, fields: 'id', bbox: '1,2,3,4' })).toBe(expected)
    expect(await cacheKey('mf-bbox', { fields: 'id', zoom: 18, bbox: '1,2,3,4', object_values: undefined })).toBe(expected)
    expect(await cacheKey('mf-bbox', { bbox: '1,2,3,4', zoom: 18, fields: 'id' })).toBe(expected)
  })

  it('rejects a part that is not a finite number (JSON would turn it into null), naming it', async () => {
    await expect(cacheKey('cell', { zoom: Number.NaN })).rejects.toThrow(new TypeError("cacheKey: part 'zoom' is not a finite number"))
    await expect(cacheKey('cell', { zoom: Number.POSITIVE_INFINITY })).rejects.toThrow(TypeError)
  })
})

describe('cached, pinned', () => {
  it('reads KV as text', async () => {
    const types: string[] = []
    const kv: KVLike = {
      async get(_key, type) {
        types.push(type)
        return '"stored"'
      },
      async put() {},
    }
    expect(await cached(kv, 'k', 300, async () => 'fresh')).toEqual({ value: 'stored', hit: true })
    expect(types).toEqual(['text'])
  })

  it('answers undefined from produce without storing anything', async () => {
    const { kv, puts } = memoryKv()
    expect(await cached(kv, 'k', 300, async () => undefined)).toEqual({ value: undefined, hit: false })
    expect(puts).toEqual([])
  })
})

describe('the 25 MiB value limit, in UTF-8 bytes', () => {
  const MiB = 1024 * 1024
  async function stored(text: string): Promise<boolean> {
    const { kv, puts } = memoryKv()
    await cachedText(kv, 'k', 300, async () => text)
    return puts.length === 1
  }

  it('stores ASCII up to exactly 25 MiB, past a third of it too', async () => {
    expect(await stored('x'.repeat(9 * MiB))).toBe(true)
    expect(await stored('x'.repeat(25 * MiB))).toBe(true)
    expect(await stored('x'.repeat(25 * MiB + 1))).toBe(false)
  })

  it('counts what TextEncoder writes: surrogate pairs 4 bytes, a lone surrogate 3 (U+FFFD)', async () => {
    // Just past a third of the limit in UTF-16 units, so the length alone cannot decide.
    const units = Math.floor((25 * MiB) / 3) + 1
    for (const unit of ['😀', '\ud800', '\udc00x', '€', 'é']) {
      const text = unit.repeat(Math.ceil(units / unit.length))
      const bytes = new TextEncoder().encode(text).byteLength
      expect(fitsInKv(text), `${JSON.stringify(unit)}: ${bytes} bytes`).toBe(bytes <= 25 * MiB)
      // The same text cut to the last byte that fits, and one unit more.
      const fit = text.slice(0, Math.floor(text.length * ((25 * MiB) / bytes)))
      const fitBytes = new TextEncoder().encode(fit).byteLength
      expect(fitsInKv(fit)).toBe(fitBytes <= 25 * MiB)
    }
  })

  it('counts two bytes for an é: 12.5 Mi of them fit, one more byte does not', async () => {
    expect(await stored('é'.repeat(12.5 * MiB))).toBe(true)
    expect(await stored('é'.repeat(12.5 * MiB) + 'x')).toBe(false)
  })
})

/** memoryKv with metadata, as KVNamespace's getWithMetadata answers it. */
function metadataKv() {
  const map = new Map<string, { text: string; metadata: unknown; ttl?: number }>()
  const kv: KVLike = {
    async get(key) {
      return map.get(key)?.text ?? null
    },
    async getWithMetadata(key) {
      const e = map.get(key)
      return { value: e?.text ?? null, metadata: e?.metadata ?? null }
    },
    async put(key, text, o) {
      map.set(key, { text, metadata: o?.metadata, ttl: o?.expirationTtl })
    },
  }
  return { kv, map }
}

// Issue 9: an answer without URLs answers while the upstream fails, marked stale with its age.
describe('stale-if-error', () => {
  const down = new Error('upstream down')
  const gone = new Error('not found')
  const staleIfError = { seconds: 7 * 86400, when: (e: unknown) => e === down }
  const at = (ms: number) => vi.spyOn(Date, 'now').mockReturnValue(ms)
  afterEach(() => vi.restoreAllMocks())

  it('stores the value for its TTL, and a copy under stale: for TTL + the window, with the time it was written', async () => {
    const { kv, map } = metadataKv()
    at(1_000_000)
    expect(await cached(kv, 'k', 3600, async () => ({ n: 1 }), { staleIfError })).toEqual({ value: { n: 1 }, hit: false })
    expect(map.get('k')).toEqual({ text: '{"n":1}', metadata: undefined, ttl: 3600 })
    expect(map.get('stale:k')).toEqual({ text: '{"n":1}', metadata: { written: 1_000_000 }, ttl: 3600 + 7 * 86400 })
    expect(staleKey('k')).toBe('stale:k')
  })

  it('answers the value within its TTL without producing', async () => {
    const { kv } = metadataKv()
    await cachedText(kv, 'k', 3600, async () => 'one', { staleIfError })
    expect(await cachedText(kv, 'k', 3600, async () => 'two', { staleIfError })).toEqual({ text: 'one', hit: true })
  })

  it('once the value has expired, produces again, and answers the copy, stale with its age, when that fails as `when` says', async () => {
    const { kv, map } = metadataKv()
    at(0)
    await cached(kv, 'k', 3600, async () => [1], { staleIfError })
    map.delete('k') // KV expired it
    at(3600_000 + 5_500)
    expect(await cached(kv, 'k', 3600, async () => Promise.reject(down), { staleIfError })).toEqual({ value: [1], hit: true, stale: { ageSeconds: 3605 } })
    expect(await cachedText(kv, 'k', 3600, async () => Promise.reject(down), { staleIfError })).toEqual({ text: '[1]', hit: true, stale: { ageSeconds: 3605 } })
    // Another failure propagates, and so does any failure without the option.
    await expect(cached(kv, 'k', 3600, async () => Promise.reject(gone), { staleIfError })).rejects.toBe(gone)
    await expect(cachedText(kv, 'k', 3600, async () => Promise.reject(down))).rejects.toBe(down)
    // A success replaces both, written now.
    expect(await cached(kv, 'k', 3600, async () => [2], { staleIfError })).toEqual({ value: [2], hit: false })
    expect(map.get('stale:k')).toEqual({ text: '[2]', metadata: { written: 3605_500 }, ttl: 3600 + 7 * 86400 })
  })

  it('propagates the failure when nothing is kept', async () => {
    const { kv } = metadataKv()
    await expect(cachedText(kv, 'k', 3600, async () => Promise.reject(down), { staleIfError })).rejects.toBe(down)
    await expect(cachedText(undefined, 'k', 3600, async () => Promise.reject(down), { staleIfError })).rejects.toBe(down)
  })

  it('storeText keeps one entry for TTL + the window, with when it was written and its tag; cachedOrProduced and readFresh answer it fresh for the TTL only', async () => {
    const { kv, map } = metadataKv()
    at(2_000)
    await storeText(kv, 'k', '{"a":1}', 3600, { staleSeconds: 7 * 86400, etag: '"t1"' })
    expect([...map.entries()]).toEqual([['k', { text: '{"a":1}', metadata: { written: 2_000, etag: '"t1"' }, ttl: 3600 + 7 * 86400 }]])
    const never = async () => Promise.reject(new Error('not asked'))
    at(2_000 + 3600_000)
    expect(await cachedOrProduced(kv, 'k', 3600, never, { staleIfError })).toEqual({ text: '{"a":1}', etag: '"t1"', hit: true })
    expect(await readFresh(kv, 'k', 3600)).toEqual({ text: '{"a":1}', etag: '"t1"' })
    // Past its hour: produced again; the entry answers only a failure staleIfError accepts, stale with its age.
    at(2_000 + 3601_000)
    expect(await readFresh(kv, 'k', 3600)).toBeNull()
    expect(await cachedOrProduced(kv, 'k', 3600, async () => ({ body: 'new' }), { staleIfError })).toEqual({ hit: false, produced: { body: 'new' } })
    expect(await cachedOrProduced(kv, 'k', 3600, async () => Promise.reject(down), { staleIfError })).toEqual({ text: '{"a":1}', etag: '"t1"', hit: true, stale: { ageSeconds: 3601 } })
    await expect(cachedOrProduced(kv, 'k', 3600, async () => Promise.reject(gone), { staleIfError })).rejects.toBe(gone)
    await expect(cachedOrProduced(kv, 'k', 3600, async () => Promise.reject(down))).rejects.toBe(down)
    // A miss hands over what was produced and writes nothing: its producer stores it.
    map.clear()
    expect(await cachedOrProduced(kv, 'k', 3600, async () => ({ body: 'stream' }), { staleIfError })).toEqual({ hit: false, produced: { body: 'stream' } })
    await expect(cachedOrProduced(kv, 'k', 3600, async () => Promise.reject(down), { staleIfError })).rejects.toBe(down)
    expect(map.size).toBe(0)
    // Without a tag or a window: fresh for its TTL, then gone.
    await storeText(kv, 'u', 'plain', 3600)
    expect([...map.entries()]).toEqual([['u', { text: 'plain', metadata: { written: 2_000 + 3601_000 }, ttl: 3600 }]])
  })

  it('storeText skips a value over 25 MiB and never rejects', async () => {
    const { kv, map } = metadataKv()
    await storeText(kv, 'big', 'x'.repeat(25 * 1024 * 1024 + 1), 3600, { staleSeconds: 60 })
    expect(map.size).toBe(0)
    const broken = memoryKv({ failPut: true })
    await expect(storeText(broken.kv, 'k', 'v', 3600, { staleSeconds: 60 })).resolves.toBeUndefined()
  })

  it('readKept and writeKept: a long-lived fact with its age', async () => {
    const { kv, map } = metadataKv()
    at(1_000)
    await writeKept(kv, 'size', '{"width":4032,"height":3024}', 30 * 86400)
    expect(map.get('size')).toEqual({ text: '{"width":4032,"height":3024}', metadata: { written: 1_000 }, ttl: 30 * 86400 })
    at(61_999)
    expect(await readKept(kv, 'size')).toEqual({ text: '{"width":4032,"height":3024}', ageSeconds: 60 })
    expect(await readKept(kv, 'nothing')).toBeNull()
    expect(await readKept(undefined, 'size')).toBeNull()
  })
})
