/**
 * @module
 * Strict base64 for detection geometries. Accepts the standard and the URL-safe alphabet (not mixed)
 * with or without padding; anything else is `null`, so bad client input becomes a 4xx, never a 5xx.
 * Uses `atob`/`btoa`, which Workers and Node 22 both provide.
 */

const STANDARD = /^[A-Za-z0-9+/]*$/
const URL_SAFE = /^[A-Za-z0-9_-]*$/

/** Bytes of `s`, or `null` when `s` is empty or not base64. */
export function decodeBase64(s: string): Uint8Array | null {
  if (typeof s !== 'string') return null
  const padStart = s.indexOf('=')
  const body = padStart === -1 ? s : s.slice(0, padStart)
  const padding = padStart === -1 ? '' : s.slice(padStart)
  if (body.length === 0) return null
  if (!STANDARD.test(body) && !URL_SAFE.test(body)) return null
  // One leftover character carries only 6 bits: never a whole byte, so never valid.
  if (body.length % 4 === 1) return null
  // Padding, when present, must be exactly what completes the last quantum.
  if (padding !== '' && (!/^={1,2}$/.test(padding) || (body.length + padding.length) % 4 !== 0)) return null
  const standard = body.replace(/-/g, '+').replace(/_/g, '/')
  const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4)
  let binary: string
  try {
    binary = atob(padded)
  } catch {
    return null
  }
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Standard, padded base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = ''
  // Chunked so `String.fromCharCode(...chunk)` never exceeds the engine's argument limit.
  const CHUNK = 0x8000
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  }
  return btoa(binary)
}
