import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SIGNATURE_TOLERANCE_SECONDS, signatureHeader, verifySignature, webhookSecrets } from './signature'

// Known vectors computed outside this code, once, with openssl:
//   printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac secret
const EMPTY_OBJECT_SIG = 'b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163'
const BODY = '{"bbox":"-79.54,8.94,-79.52,8.96"}'
//   printf '%s' '1700000000.{"bbox":"-79.54,8.94,-79.52,8.96"}' | openssl dgst -sha256 -hmac new-secret
const BODY_SIG_NEW = '9b61b5b3bfba4ab5dd49d12b635089bede2bb0a9645ec75dbdfaea4bfa29b862'
//   printf '%s' '1700000000.{"bbox":"-79.54,8.94,-79.52,8.96"}' | openssl dgst -sha256 -hmac old-secret
const BODY_SIG_OLD = '52a9e56fc42afc00ba4b3b3fffabf9c2010814252bf4332bdea7f0ce6bc6b6bb'
//   printf '%s' '1700000000.héllo' | openssl dgst -sha256 -hmac 'sécret'   (UTF-8 shell)
const UTF8_SIG = '8d318d4580a748348605e7858e1076ff8e97d8c750d998fdb375218458abead8'

const T = 1700000000

describe('webhookSecrets', () => {
  it('splits WEBHOOK_SECRET on commas, trims, drops empties, keeps the order (current first)', () => {
    expect(webhookSecrets(' new-secret , old-secret ,')).toEqual(['new-secret', 'old-secret'])
    expect(webhookSecrets('only')).toEqual(['only'])
    expect(webhookSecrets(' , ,')).toEqual([])
    expect(webhookSecrets(undefined)).toEqual([])
  })
})

describe('signatureHeader', () => {
  it('matches openssl for known vectors', async () => {
    expect(await signatureHeader('secret', '{}', T)).toBe(`t=1700000000,v1=${EMPTY_OBJECT_SIG}`)
    expect(await signatureHeader('new-secret', BODY, T)).toBe(`t=1700000000,v1=${BODY_SIG_NEW}`)
    expect(await signatureHeader('sécret', 'héllo', T)).toBe(`t=1700000000,v1=${UTF8_SIG}`)
  })

  it('refuses a t that is not whole unix seconds', async () => {
    await expect(signatureHeader('secret', '{}', 1.5)).rejects.toThrow(RangeError)
    await expect(signatureHeader('secret', '{}', -1)).rejects.toThrow(RangeError)
  })
})

describe('verifySignature', () => {
  it('accepts an openssl-made signature and returns t and the matched v1 (lowercase) as the replay key', async () => {
    expect(await verifySignature(`t=${T},v1=${EMPTY_OBJECT_SIG}`, '{}', ['secret'], T)).toEqual({ ok: true, t: T, v1: EMPTY_OBJECT_SIG })
    expect(await verifySignature(`t=${T},v1=${EMPTY_OBJECT_SIG.toUpperCase()}`, '{}', ['secret'], T)).toEqual({ ok: true, t: T, v1: EMPTY_OBJECT_SIG })
  })

  it('tolerates spaces around parts, stray commas, and ignores other schemes (v0=…)', async () => {
    expect(await verifySignature(` t = ${T} , v0=abc, v1= ${EMPTY_OBJECT_SIG} `, '{}', ['secret'], T)).toMatchObject({ ok: true, v1: EMPTY_OBJECT_SIG })
    expect(await verifySignature(`t=${T},,v1=${EMPTY_OBJECT_SIG},`, '{}', ['secret'], T)).toMatchObject({ ok: true, v1: EMPTY_OBJECT_SIG })
  })

  it('tries every secret: the previous one still verifies while secrets rotate', async () => {
    const secrets = webhookSecrets('new-secret,old-secret')
    expect(await verifySignature(`t=${T},v1=${BODY_SIG_OLD}`, BODY, secrets, T)).toEqual({ ok: true, t: T, v1: BODY_SIG_OLD })
    expect(await verifySignature(`t=${T},v1=${BODY_SIG_NEW}`, BODY, secrets, T)).toEqual({ ok: true, t: T, v1: BODY_SIG_NEW })
    // …and once the old one is dropped, its signature no longer does.
    expect(await verifySignature(`t=${T},v1=${BODY_SIG_OLD}`, BODY, ['new-secret'], T)).toMatchObject({ ok: false, reason: 'signature_mismatch' })
  })

  it('accepts several v1 values, any matching one wins, and returns that one', async () => {
    const wrong = 'ab'.repeat(32)
    expect(await verifySignature(`t=${T},v1=${wrong},v1=${BODY_SIG_OLD}`, BODY, ['old-secret'], T)).toEqual({ ok: true, t: T, v1: BODY_SIG_OLD })
    expect(await verifySignature(`t=${T},v1=${BODY_SIG_NEW},v1=${wrong}`, BODY, ['new-secret'], T)).toEqual({ ok: true, t: T, v1: BODY_SIG_NEW })
  })

  it('refuses a wrong secret, a changed body, a changed t', async () => {
    expect(await verifySignature(`t=${T},v1=${EMPTY_OBJECT_SIG}`, '{}', ['Secret'], T)).toMatchObject({ ok: false, reason: 'signature_mismatch' })
    expect(await verifySignature(`t=${T},v1=${EMPTY_OBJECT_SIG}`, '{} ', ['secret'], T)).toMatchObject({ ok: false, reason: 'signature_mismatch' })
    expect(await verifySignature(`t=${T + 1},v1=${EMPTY_OBJECT_SIG}`, '{}', ['secret'], T)).toMatchObject({ ok: false, reason: 'signature_mismatch' })
  })

  it('matches nothing when no secret is configured', async () => {
    expect(await verifySignature(`t=${T},v1=${EMPTY_OBJECT_SIG}`, '{}', [], T)).toMatchObject({ ok: false, reason: 'signature_mismatch' })
  })

  it('keeps exactly 300 s either way, refuses 301 s either way (stale and future)', async () => {
    expect(SIGNATURE_TOLERANCE_SECONDS).toBe(300)
    const header = `t=${T},v1=${EMPTY_OBJECT_SIG}`
    expect(await verifySignature(header, '{}', ['secret'], T + 300)).toMatchObject({ ok: true })
    expect(await verifySignature(header, '{}', ['secret'], T - 300)).toMatchObject({ ok: true })
    const stale = await verifySignature(header, '{}', ['secret'], T + 301)
    expect(stale).toMatchObject({ ok: false, reason: 'signature_expired' })
    expect(stale.ok === false && stale.detail).toContain('301 s old')
    const future = await verifySignature(header, '{}', ['secret'], T - 301)
    expect(future).toMatchObject({ ok: false, reason: 'signature_expired' })
    expect(future.ok === false && future.detail).toContain('301 s in the future')
  })

  it('takes another tolerance when given', async () => {
    const header = `t=${T},v1=${EMPTY_OBJECT_SIG}`
    expect(await verifySignature(header, '{}', ['secret'], T + 60, 60)).toMatchObject({ ok: true })
    expect(await verifySignature(header, '{}', ['secret'], T + 61, 60)).toMatchObject({ ok: false, reason: 'signature_expired' })
  })

  it('says a missing header is missing', async () => {
    for (const header of [null, undefined, '', '   ']) {
      expect(await verifySignature(header, '{}', ['secret'], T)).toMatchObject({ ok: false, reason: 'signature_missing' })
    }
  })

  it.each([
    ['no t', `v1=${EMPTY_OBJECT_SIG}`],
    ['no v1', `t=${T}`],
    ['only v0', `t=${T},v0=${EMPTY_OBJECT_SIG}`],
    ['only commas', ',,,'],
    ['two t', `t=${T},t=${T},v1=${EMPTY_OBJECT_SIG}`],
    ['a part without =', `t=${T},${EMPTY_OBJECT_SIG}`],
    ['t with a fraction', `t=${T}.0,v1=${EMPTY_OBJECT_SIG}`],
    ['t negative', `t=-${T},v1=${EMPTY_OBJECT_SIG}`],
    ['t with a sign', `t=+${T},v1=${EMPTY_OBJECT_SIG}`],
    ['t with leading zero', `t=0${T},v1=${EMPTY_OBJECT_SIG}`],
    ['t in hex', `t=0x6553f100,v1=${EMPTY_OBJECT_SIG}`],
    ['t in exponent form', `t=1.7e9,v1=${EMPTY_OBJECT_SIG}`],
    ['t empty', `t=,v1=${EMPTY_OBJECT_SIG}`],
    ['v1 not hex', `t=${T},v1=${'zz'.repeat(32)}`],
    ['v1 too short', `t=${T},v1=${EMPTY_OBJECT_SIG.slice(0, 62)}`],
    ['v1 too long', `t=${T},v1=${EMPTY_OBJECT_SIG}00`],
    ['v1 odd length', `t=${T},v1=${EMPTY_OBJECT_SIG.slice(0, 63)}`],
    ['v1 in base64', `t=${T},v1=uFabeHmf+ePL/w/C1jozorV/MoKr0Hw3ruXo fXlfFj0=`],
    ['one good v1 beside a bad one', `t=${T},v1=${EMPTY_OBJECT_SIG},v1=nothex`],
    ['nine v1 values', `t=${T}${`,v1=${EMPTY_OBJECT_SIG}`.repeat(9)}`],
    ['a header over 2048 characters', `t=${T},v1=${EMPTY_OBJECT_SIG},x=${'a'.repeat(2048)}`],
  ])('refuses %s as malformed', async (_, header) => {
    expect(await verifySignature(header, '{}', ['secret'], T)).toMatchObject({ ok: false, reason: 'signature_malformed' })
  })

  it('never throws, whatever the header (fuzz), and only accepts the real signature', async () => {
    const part = fc.oneof(
      fc.string(),
      fc.constantFrom('t=', 'v1=', '=', ',', ' ', `t=${T}`, `v1=${EMPTY_OBJECT_SIG}`, 't=1e3', 'v1=' + 'f'.repeat(64)),
      fc.tuple(fc.constantFrom('t', 'v1', 'v0', ''), fc.string()).map(([k, v]) => `${k}=${v}`),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 12 }).map((parts) => parts.join(',')), async (header) => {
        const check = await verifySignature(header, '{}', ['secret'], T)
        if (check.ok) expect(check.v1).toBe(EMPTY_OBJECT_SIG)
        else expect(['signature_missing', 'signature_malformed', 'signature_mismatch', 'signature_expired']).toContain(check.reason)
      }),
      { numRuns: 500 },
    )
  })

  it('round-trips: what signatureHeader makes, verifySignature accepts (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.string(), fc.integer({ min: 0, max: 2 ** 40 }), async (secret, body, t) => {
        const header = await signatureHeader(secret, body, t)
        expect(await verifySignature(header, body, ['other', secret], t)).toMatchObject({ ok: true, t })
      }),
      { numRuns: 100 },
    )
  })
})
