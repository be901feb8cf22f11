import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCallbackUrl } from './callback-url'

/** What local development and the tests set: loopback receivers on any port, one name on one port. */
const DEV_ALLOW = '127.0.0.1:*, [::1]:8788, receiver.test:9000'

// [url, a word the reason must contain, CALLBACK_ALLOW_HOSTS]
const REFUSED: ReadonlyArray<readonly [string, string, string?]> = [
  // schemes and shape
  ['http://hooks.example.org/cb', 'https'],
  ['ftp://hooks.example.org/cb', 'https'],
  ['file:///etc/passwd', 'https'],
  ['javascript:alert(1)', 'https'],
  ['data:text/plain,hi', 'https'],
  ['wss://hooks.example.org/cb', 'https'],
  ['gopher://127.0.0.1:6379/_INFO', 'https'],
  ['hooks.example.org/cb', 'absolute'],
  ['https://', 'absolute'],
  [`https://hooks.example.org/${'a'.repeat(2100)}`, 'longer'],
  // credentials
  ['https://user:pass@hooks.example.org/cb', 'credentials'],
  ['https://user@hooks.example.org/cb', 'credentials'],
  ['https://:pass@hooks.example.org/cb', 'credentials'],
  ['https://hooks.example.org@127.0.0.1/cb', 'credentials'],
  ['http://user:pass@127.0.0.1:8788/cb', 'credentials', DEV_ALLOW], // allow-listed host still no credentials
  // IPv4 ranges
  ['https://0.0.0.0/', 'this network'],
  ['https://0.1.2.3/', 'this network'],
  ['https://10.0.0.1/', 'private'],
  ['https://10.255.255.255/', 'private'],
  ['https://100.64.0.1/', 'CGNAT'],
  ['https://100.127.255.254/', 'CGNAT'],
  ['https://127.0.0.1/', 'loopback'],
  ['https://127.255.255.254/', 'loopback'],
  ['https://169.254.169.254/latest/meta-data/', 'link-local'],
  ['https://169.254.0.1/', 'link-local'],
  ['https://172.16.0.1/', 'private'],
  ['https://172.31.255.255/', 'private'],
  ['https://192.168.1.1/', 'private'],
  ['https://192.0.0.170/', 'IETF'],
  ['https://192.0.2.10/', 'documentation'],
  ['https://198.51.100.7/', 'documentation'],
  ['https://203.0.113.9/', 'documentation'],
  ['https://192.88.99.1/', '6to4 relay'],
  ['https://198.18.0.1/', 'benchmarking'],
  ['https://198.19.255.255/', 'benchmarking'],
  ['https://224.0.0.1/', 'multicast'],
  ['https://239.255.255.250/', 'multicast'],
  ['https://240.0.0.1/', 'reserved'],
  ['https://255.255.255.255/', 'broadcast'],
  // IPv4 spellings `new URL` turns into 127.0.0.1 / 169.254.169.254 / 10.0.0.1
  ['https://2130706433/', 'loopback'],
  ['https://0177.0.0.1/', 'loopback'],
  ['https://017700000001/', 'loopback'],
  ['https://0x7f.1/', 'loopback'],
  ['https://0x7f000001/', 'loopback'],
  ['https://127.1/', 'loopback'],
  ['https://127.0.1/', 'loopback'],
  ['https://127.0.0.1./', 'loopback'],
  ['https://127.0.0.1%2e/', 'loopback'],
  ['https://１２７.０.０.１/', 'loopback'],
  ['https://0/', 'this network'],
  ['https://2852039166/', 'link-local'],
  ['https://0xa9.0xfe.0xa9.0xfe/', 'link-local'],
  ['https://012.1/', 'private'],
  ['https://0xffffffff/', 'broadcast'],
  // IPv6
  ['https://[::1]/', 'loopback'],
  ['https://[0:0:0:0:0:0:0:1]/', 'loopback'],
  ['https://[::]/', 'unspecified'],
  ['https://[fc00::1]/', 'unique local'],
  ['https://[fd00:ec2::254]/', 'unique local'],
  ['https://[fe80::1]/', 'link-local'],
  ['https://[febf::1]/', 'link-local'],
  ['https://[fec0::1]/', 'site-local'],
  ['https://[ff02::1]/', 'multicast'],
  ['https://[::ffff:127.0.0.1]/', 'IPv4-mapped'],
  ['https://[::ffff:7f00:1]/', 'IPv4-mapped'],
  ['https://[::ffff:a9fe:a9fe]/', 'link-local'],
  ['https://[::ffff:10.0.0.1]/', 'private'],
  ['https://[::127.0.0.1]/', 'global unicast'], // deprecated IPv4-compatible
  ['https://[::ffff:0:127.0.0.1]/', 'global unicast'], // SIIT, not a receiver
  ['https://[64:ff9b::127.0.0.1]/', 'NAT64'],
  ['https://[64:ff9b::a9fe:a9fe]/', 'NAT64'],
  ['https://[64:ff9b:1::1.2.3.4]/', 'global unicast'], // local-use NAT64 (RFC 8215)
  ['https://[2002:7f00:1::]/', '6to4'],
  ['https://[2002:c0a8:101::1]/', '6to4'],
  ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'Teredo'],
  ['https://[2001:2::1]/', 'IETF'],
  ['https://[2001:db8::1]/', 'documentation'],
  ['https://[3fff::1]/', 'documentation'],
  ['https://[100::1]/', 'global unicast'], // discard-only
  // names
  ['https://localhost/', 'without a dot'],
  ['https://localhost./', 'without a dot'],
  ['https://LOCALHOST:8443/', 'without a dot'],
  ['https://%6c%6fcalhost/', 'without a dot'],
  ['https://ⓛocalhost/', 'without a dot'],
  ['https://api.localhost/', '.localhost'],
  ['https://printer.local/', '.local'],
  ['https://metadata.google.internal/computeMetadata/v1/', '.internal'],
  ['https://metadata.google.internal./', '.internal'],
  ['https://db.svc.cluster.internal/', '.internal'],
  ['https://router.home.arpa/', '.home.arpa'],
  ['https://1.0.0.127.in-addr.arpa/', '.arpa'],
  ['https://intranet/', 'without a dot'],
  ['https://my-receiver/', 'without a dot'],
  ['https://hooks.example/', '.example'],
  ['https://receiver.test/', '.test'], // allow-listed only on its port, see below
  // ports
  ['https://hooks.example.org:0/', 'port 0'],
  // allow-list near misses
  ['https://127.0.0.1.evil.com.localhost/', '.localhost', DEV_ALLOW],
  ['https://127.0.0.2/', 'loopback', DEV_ALLOW],
  ['https://localhost:8788/', 'without a dot', DEV_ALLOW],
  ['https://[::1]:8789/', 'loopback', DEV_ALLOW],
  ['https://[::1]/', 'loopback', DEV_ALLOW],
  ['http://receiver.test/', 'https', DEV_ALLOW],
  ['https://receiver.test:9001/', '.test', DEV_ALLOW],
  ['https://127.0.0.1/', 'loopback', '127.0.0.1'], // an entry without a port pattern opens nothing
  ['https://127.0.0.1/', 'loopback', '127.0.0.1:abc'],
  ['https://127.0.0.1/', 'loopback', ':*'],
  ['https://10.0.0.1/', 'private', DEV_ALLOW],
  ['http://hooks.example.org/cb', 'https', DEV_ALLOW],
]

const ALLOWED: ReadonlyArray<readonly [string, string, string?]> = [
  // [url, the URL as checked (normalised), CALLBACK_ALLOW_HOSTS]
  ['https://hooks.example.org/mly?x=1', 'https://hooks.example.org/mly?x=1'],
  ['https://HOOKS.Example.org/cb', 'https://hooks.example.org/cb'],
  ['https://hooks.example.org./cb', 'https://hooks.example.org./cb'],
  ['https://hooks.example.org:8443/cb', 'https://hooks.example.org:8443/cb'],
  ['https://hooks.example.org:443/cb', 'https://hooks.example.org/cb'],
  ['https://127.0.0.1.evil.com/', 'https://127.0.0.1.evil.com/'], // a public name; where it resolves is not ours to see (module doc)
  ['https://xn--bcher-kva.example.org/', 'https://xn--bcher-kva.example.org/'],
  ['https://bücher.example.org/', 'https://xn--bcher-kva.example.org/'],
  ['https://8.8.8.8/', 'https://8.8.8.8/'],
  ['https://1.1.1.1:8443/', 'https://1.1.1.1:8443/'],
  ['https://172.32.0.1/', 'https://172.32.0.1/'], // just past 172.16/12
  ['https://100.128.0.1/', 'https://100.128.0.1/'], // just past 100.64/10
  ['https://[2606:4700:4700::1111]/', 'https://[2606:4700:4700::1111]/'],
  ['https://[::ffff:8.8.8.8]/', 'https://[::ffff:808:808]/'],
  ['https://[64:ff9b::8.8.8.8]/', 'https://[64:ff9b::808:808]/'],
  ['https://[2002:808:808::1]/', 'https://[2002:808:808::1]/'],
  ['https://receiver.com/cb', 'https://receiver.com/cb', DEV_ALLOW],
  // allow-listed for local development: http allowed for them, exactly those ports
  ['http://127.0.0.1:8788/cb', 'http://127.0.0.1:8788/cb', DEV_ALLOW],
  ['http://127.0.0.1:41234/cb', 'http://127.0.0.1:41234/cb', DEV_ALLOW],
  ['http://127.0.0.1/cb', 'http://127.0.0.1/cb', DEV_ALLOW],
  ['https://127.0.0.1/cb', 'https://127.0.0.1/cb', DEV_ALLOW],
  ['http://2130706433:9/cb', 'http://127.0.0.1:9/cb', DEV_ALLOW], // same host, however spelt
  ['http://[::1]:8788/cb', 'http://[::1]:8788/cb', DEV_ALLOW],
  ['http://receiver.test:9000/', 'http://receiver.test:9000/', DEV_ALLOW],
  ['http://localhost:8788/cb', 'http://localhost:8788/cb', 'LOCALHOST:8788'],
  ['https://localhost/cb', 'https://localhost/cb', 'localhost:443'],
]

describe('checkCallbackUrl', () => {
  it.each(REFUSED.map(([url, word, allow]) => ({ url, word, allow })))('refuses $url ($word)', ({ url, word, allow }) => {
    const check = checkCallbackUrl(url, allow)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.reason).toContain(word)
  })

  it.each(ALLOWED.map(([url, href, allow]) => ({ url, href, allow })))('allows $url', ({ url, href, allow }) => {
    const check = checkCallbackUrl(url, allow)
    expect(check).toEqual({ ok: true, url: new URL(href) })
    if (check.ok) expect(check.url.href).toBe(href)
  })

  it('covers enough: at least 40 refusals and 20 allowed', () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(40)
    expect(ALLOWED.length).toBeGreaterThanOrEqual(20)
  })

  it('refuses every address of the private and loopback v4 blocks, in any spelling (fuzz)', () => {
    const blocks: Array<[number, number]> = [[0x0a000000, 8], [0x7f000000, 8], [0xac100000, 12], [0xc0a80000, 16], [0xa9fe0000, 16], [0x64400000, 10]]
    fc.assert(
      fc.property(fc.constantFrom(...blocks), fc.nat(), fc.constantFrom('dotted', 'decimal', 'hex', 'octal', 'mapped', 'nat64'), ([base, prefix], n, form) => {
        const address = (base + (n % 2 ** (32 - prefix))) >>> 0
        const bytes = [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255]
        const host = {
          dotted: bytes.join('.'),
          decimal: String(address),
          hex: `0x${address.toString(16)}`,
          octal: bytes.map((b) => `0${b.toString(8)}`).join('.'),
          mapped: `[::ffff:${bytes.join('.')}]`,
          nat64: `[64:ff9b::${bytes.join('.')}]`,
        }[form]
        return checkCallbackUrl(`https://${host}/cb`, undefined).ok === false
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws, whatever the text (fuzz)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.string().map((s) => `https://${s}`)), fc.option(fc.string(), { nil: undefined }), (raw, allow) => {
        const check = checkCallbackUrl(raw, allow)
        return check.ok ? check.url instanceof URL : typeof check.reason === 'string' && check.reason.length > 0
      }),
      { numRuns: 1000 },
    )
  })
})
