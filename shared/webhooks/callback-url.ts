/**
 * @module
 * May we POST a callback to this URL? `https` to a public host only: no credentials in the URL,
 * no IP literal in a private, loopback, link-local, metadata or other special range (v4 and v6,
 * in any spelling `new URL` accepts), no local-only names. `CALLBACK_ALLOW_HOSTS` opens exactly
 * the listed `host:port` / `host:*` (and `http` for them) for local development and tests.
 *
 * What cannot be checked here, and what covers it:
 * - a public name that resolves to a private address (DNS rebinding, `127.0.0.1.nip.io`): we do
 *   not resolve names; on Cloudflare, a Worker's fetch goes out to the internet and cannot reach
 *   a private network (under `npm start`, workerd runs on your own machine);
 * - a public receiver redirecting to a private one: the deliverer fetches with
 *   `redirect: 'manual'`, so a 3xx is a failed attempt, never followed.
 */

/** Longer URLs are refused before parsing: no receiver needs one. */
const MAX_URL_LENGTH = 2048

/**
 * Suffixes of names no public receiver has: special-use and reserved (RFC 6761: localhost, test,
 * invalid, example; RFC 6762 .local; RFC 8375 home.arpa; RFC 7686 .onion; ICANN's .internal),
 * and names private networks use that ICANN keeps out of the root (.home, .corp, .lan, …).
 */
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'localdomain', 'home.arpa', 'lan', 'intranet', 'corp', 'home', 'arpa', 'test', 'invalid', 'example', 'onion']

/** Refused IPv4 blocks as [first address, prefix length, what it is] (IANA special-purpose registry). */
const REFUSED_V4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '"this network" (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'shared CGNAT (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'link-local, where cloud metadata lives (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'private (172.16.0.0/12)'],
  ['192.0.0.0', 24, 'IETF protocol assignments (192.0.0.0/24)'],
  ['192.0.2.0', 24, 'documentation (192.0.2.0/24)'],
  ['192.88.99.0', 24, '6to4 relay anycast (192.88.99.0/24)'],
  ['192.168.0.0', 16, 'private (192.168.0.0/16)'],
  ['198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'],
  ['198.51.100.0', 24, 'documentation (198.51.100.0/24)'],
  ['203.0.113.0', 24, 'documentation (203.0.113.0/24)'],
  ['224.0.0.0', 4, 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'reserved or broadcast (240.0.0.0/4)'],
]

export type CallbackUrlCheck = { ok: true; url: URL } | { ok: false; reason: string }

/**
 * Whether a callback may be POSTed to `raw`; `reason` is a sentence for a 400's detail.
 * `allowHosts` is `CALLBACK_ALLOW_HOSTS`: comma-separated `host:port` or `host:*`.
 *
 * @example
 * checkCallbackUrl('https://hooks.example.org/mly', undefined) // { ok: true, url }
 * checkCallbackUrl('https://0x7f.1/', undefined).ok // false: 127.0.0.1 is loopback
 * checkCallbackUrl('http://127.0.0.1:8788/cb', '127.0.0.1:*').ok // true: allow-listed, http allowed
 */
export function checkCallbackUrl(raw: string, allowHosts: string | undefined): CallbackUrlCheck {
  if (raw.length > MAX_URL_LENGTH) return refuse(`callback_url is longer than ${MAX_URL_LENGTH} characters.`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return refuse('callback_url is not an absolute URL.')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse(`callback_url must use https, not ${url.protocol.slice(0, -1)}.`)
  if (url.username !== '' || url.password !== '') return refuse('callback_url must not carry credentials (user:password@); sign-in belongs in the receiver, checked by X-Signature.')
  if (isAllowListed(url, allowHosts)) return { ok: true, url }
  if (url.protocol !== 'https:') return refuse('callback_url must use https.')
  if (url.port === '0') return refuse('callback_url has port 0.')
  const why = refusedHost(url.hostname)
  return why === null ? { ok: true, url } : refuse(`callback_url's host ${url.hostname} is ${why}; callbacks go to public hosts only.`)
}

function refuse(reason: string): CallbackUrlCheck {
  return { ok: false, reason }
}

/** The port a request to `url` goes to. */
function effectivePort(url: URL): string {
  return url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
}

/** Exactly a listed host (compared after `new URL` normalises both) on the listed port, or any with `*`. */
function isAllowListed(url: URL, allowHosts: string | undefined): boolean {
  for (const entry of (allowHosts ?? '').split(',')) {
    const text = entry.trim()
    const colon = text.lastIndexOf(':')
    if (colon <= 0) continue // no port pattern: not an entry
    const port = text.slice(colon + 1)
    if (port !== '*' && !/^[0-9]{1,5}$/.test(port)) continue
    let host: string
    try {
      host = new URL(`http://${text.slice(0, colon)}/`).hostname
    } catch {
      continue
    }
    if (host === url.hostname && (port === '*' || Number(port) === Number(effectivePort(url)))) return true
  }
  return false
}

/** Why a host may not receive callbacks, or null when it may. `hostname` is as `new URL` gives it. */
function refusedHost(hostname: string): string | null {
  if (hostname.startsWith('[')) return refusedV6(hostname.slice(1, -1))
  const v4 = parseV4(hostname)
  if (v4 !== null) return refusedV4(v4)
  // `new URL` keeps trailing dots on names (`localhost.` is localhost).
  const name = hostname.replace(/\.+$/, '')
  if (name === '' || !name.includes('.')) return 'a name without a dot (a local name)'
  const local = LOCAL_SUFFIXES.find((s) => name === s || name.endsWith(`.${s}`))
  return local === undefined ? null : `a local or reserved name (.${local})`
}

/** `a.b.c.d` as a 32-bit number; `new URL` already turned decimal, octal, hex and short forms into this. */
function parseV4(text: string): number | null {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(text)
  if (m === null) return null
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return null
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

function refusedV4(address: number): string | null {
  for (const [first, prefix, what] of REFUSED_V4) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0
    if (((address & mask) >>> 0) === parseV4(first)) return what
  }
  return null
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted v4 tail read), or null. */
function parseV6(text: string): number[] | null {
  let tail: number[] = []
  const dotted = /^(.*:)([0-9.]+)$/.exec(text)
  if (dotted && dotted[2]!.includes('.')) {
    const v4 = parseV4(dotted[2]!)
    if (v4 === null) return null
    tail = [v4 >>> 16, v4 & 0xffff]
    text = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1)
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const read = (s: string): number[] | null => {
    if (s === '') return []
    const groups = s.split(':')
    return groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g)) ? groups.map((g) => parseInt(g, 16)) : null
  }
  const head = read(halves[0]!)
  const rest = halves.length === 2 ? read(halves[1]!) : []
  if (head === null || rest === null) return null
  const known = head.length + rest.length + tail.length
  if (halves.length === 1) return known === 8 ? [...head, ...tail] : null
  return known < 8 ? [...head, ...Array<number>(8 - known).fill(0), ...rest, ...tail] : null
}

/**
 * Refused IPv6: everything outside global unicast 2000::/3 (this covers ::, ::1, the deprecated
 * IPv4-compatible ::/96, ULA fc00::/7 (AWS metadata fd00:ec2::254), link-local fe80::/10,
 * site-local fec0::/10, multicast ff00::/8, discard 100::/64), except the forms that embed an IPv4
 * address, which are judged by it: mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 6to4 2002::/16.
 * Inside 2000::/3: the IETF block 2001::/23 (Teredo 2001::/32, which tunnels to any IPv4 address,
 * benchmarking 2001:2::/48, ORCHID) and the documentation blocks 2001:db8::/32 and 3fff::/20,
 * none of which is a receiver's address.
 */
function refusedV6(text: string): string | null {
  const g = parseV6(text)
  if (g === null) return 'not a readable IPv6 address'
  const embedded = (hi: number, lo: number, form: string): string | null => {
    const why = refusedV4(((hi << 16) | lo) >>> 0)
    return why === null ? null : `${form} embedding an IPv4 address that is ${why}`
  }
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zeros(0, 5) && g[5] === 0xffff) return embedded(g[6]!, g[7]!, 'an IPv4-mapped address')
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded(g[6]!, g[7]!, 'a NAT64 address (64:ff9b::/96)')
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!, 'a 6to4 address (2002::/16)')
  if (zeros(0, 7) && g[7] === 1) return 'loopback (::1)'
  if (zeros(0, 8)) return 'the unspecified address (::)'
  if ((g[0]! & 0xfe00) === 0xfc00) return 'unique local (fc00::/7)'
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local (fe80::/10)'
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local (fec0::/10)'
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast (ff00::/8)'
  if ((g[0]! & 0xe000) !== 0x2000) return 'outside global unicast (2000::/3)'
  if (g[0] === 0x2001 && g[1]! < 0x0200) return 'IETF special-purpose, Teredo included (2001::/23)'
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'documentation (2001:db8::/32)'
  if ((g[0]! & 0xfff0) === 0x3ff0) return 'documentation (3fff::/20)'
  return null
}
