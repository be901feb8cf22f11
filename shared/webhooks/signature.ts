/**
 * @module
 * Webhook signatures: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
 * made and checked with WebCrypto only (runs in workerd and Node). Used both ways: to check a
 * signed trigger (`POST /v1/hooks/{task}`) and to sign the callback we deliver.
 */

/** How far (either way) a signature's `t` may be from now: 5 minutes, the spec's window. */
export const SIGNATURE_TOLERANCE_SECONDS = 300

/** Longest header we parse: two secrets' worth of `v1=` values fits many times over. */
const MAX_HEADER_LENGTH = 2048
/** Most `v1=` values we try: each costs one HMAC per secret. */
const MAX_SIGNATURES = 8
/** A non-negative integer without leading zeros (the signed text uses `t` as written). */
const T_PATTERN = /^(0|[1-9][0-9]{0,14})$/
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/

const encoder = new TextEncoder()

/**
 * The secrets `WEBHOOK_SECRET` holds: comma-separated (current, then previous while rotating),
 * trimmed, empties dropped.
 *
 * @example
 * webhookSecrets(' new-secret , old-secret ,') // ['new-secret', 'old-secret']
 * webhookSecrets(undefined) // []
 */
export function webhookSecrets(setting: string | undefined): string[] {
  return (setting ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage])
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

/**
 * The `X-Signature` value for a body sent at `t` (unix seconds).
 *
 * @example
 * await signatureHeader('secret', '{}', 1700000000)
 * // 't=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163'
 */
export async function signatureHeader(secret: string, rawBody: string, t: number): Promise<string> {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`t must be a non-negative integer of unix seconds, got ${t}`)
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), encoder.encode(`${t}.${rawBody}`))
  return `t=${t},v1=${toHex(mac)}`
}

export type SignatureCheck =
  /** `v1`: the signature that matched, lowercase hex: the key to remember against replays. */
  | { ok: true; t: number; v1: string }
  | { ok: false; reason: 'signature_missing' | 'signature_malformed' | 'signature_mismatch' | 'signature_expired'; detail: string }

type Parsed = { t: number; tText: string; v1: string[] } | { ok: false; reason: 'signature_missing' | 'signature_malformed'; detail: string }

/** Reads `t=…,v1=…[,v1=…]`; other schemes (`v0=…`) are ignored so a client may send several. */
function parseHeader(header: string | null | undefined): Parsed {
  if (header == null || header.trim() === '') return { ok: false, reason: 'signature_missing', detail: 'X-Signature is missing: send t=<unix seconds>,v1=<hex HMAC-SHA256>.' }
  if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: 'signature_malformed', detail: `X-Signature is longer than ${MAX_HEADER_LENGTH} characters.` }
  let tText: string | undefined
  const v1: string[] = []
  for (const part of header.split(',')) {
    if (part.trim() === '') continue // a stray comma changes nothing
    const eq = part.indexOf('=')
    if (eq < 0) return { ok: false, reason: 'signature_malformed', detail: 'X-Signature must be comma-separated key=value pairs: t=<unix seconds>,v1=<hex>.' }
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === 't') {
      if (tText !== undefined) return { ok: false, reason: 'signature_malformed', detail: 'X-Signature has more than one t.' }
      if (!T_PATTERN.test(value)) return { ok: false, reason: 'signature_malformed', detail: 't must be an integer number of unix seconds.' }
      tText = value
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return { ok: false, reason: 'signature_malformed', detail: 'v1 must be 64 hex digits (an HMAC-SHA256).' }
      v1.push(value.toLowerCase())
    }
  }
  if (tText === undefined) return { ok: false, reason: 'signature_malformed', detail: 'X-Signature has no t=<unix seconds>.' }
  if (v1.length === 0) return { ok: false, reason: 'signature_malformed', detail: 'X-Signature has no v1=<hex HMAC-SHA256>.' }
  if (v1.length > MAX_SIGNATURES) return { ok: false, reason: 'signature_malformed', detail: `X-Signature has more than ${MAX_SIGNATURES} v1 values.` }
  return { t: Number(tText), tText, v1 }
}

/**
 * Checks an `X-Signature` against the raw body with every secret (rotation) and every `v1`
 * (any match wins). The time window is checked before any HMAC, both ways: a `t` more than
 * `toleranceSeconds` in the past or the future is `signature_expired` (exactly 300 s is in).
 * The comparison is crypto.subtle.verify, which is constant-time.
 *
 * @example
 * const check = await verifySignature(req.headers.get('x-signature'), await req.text(), webhookSecrets(env.WEBHOOK_SECRET), Math.floor(Date.now() / 1000))
 * if (!check.ok) return problem(401, check.reason, check.detail)
 * // check.v1: remember it for the window, a second use is a replay (409)
 */
export async function verifySignature(
  header: string | null | undefined,
  rawBody: string,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds: number = SIGNATURE_TOLERANCE_SECONDS,
): Promise<SignatureCheck> {
  const parsed = parseHeader(header)
  if ('ok' in parsed) return parsed
  const age = nowSeconds - parsed.t
  if (!(Math.abs(age) <= toleranceSeconds)) {
    const when = age > 0 ? `${age} s old` : `${-age} s in the future`
    return { ok: false, reason: 'signature_expired', detail: `t is ${when}; it must be within ${toleranceSeconds} s of now (check the sender's clock).` }
  }
  if (secrets.length === 0) return { ok: false, reason: 'signature_mismatch', detail: 'No webhook secret is configured, so no signature can match.' }
  const message = encoder.encode(`${parsed.tText}.${rawBody}`)
  for (const secret of secrets) {
    const key = await hmacKey(secret, 'verify')
    for (const v1 of parsed.v1) {
      if (await crypto.subtle.verify('HMAC', key, fromHex(v1), message)) return { ok: true, t: parsed.t, v1 }
    }
  }
  return { ok: false, reason: 'signature_mismatch', detail: 'No v1 matches HMAC-SHA256(secret, "<t>.<raw body>") for any configured secret.' }
}
