import { describe, expect, it } from 'vitest'
import { escapeXml, safeHttpUrl } from './escape'

describe('escapeXml', () => {
  it('turns the five markup characters into entities and leaves the rest', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&#39;f')
    expect(escapeXml('nature--🌳--حديقة')).toBe('nature--🌳--حديقة')
    expect(escapeXml(']]>')).toBe(']]&gt;')
  })

  it('replaces what XML 1.0 cannot hold (controls, lone surrogates, U+FFFE) by U+FFFD and keeps tab, LF, CR and pairs', () => {
    expect(escapeXml('a\u0000b\u0008c\u000bd\u001fe\uFFFEf')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf')
    expect(escapeXml('\t\n\r')).toBe('\t\n\r')
    expect(escapeXml('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz')
    expect(escapeXml('\uD83C\uDF33')).toBe('🌳')
  })
})

describe('safeHttpUrl', () => {
  it('keeps absolute http(s) URLs, normalised', () => {
    expect(safeHttpUrl('https://example.com/a b.jpg?x=1&y="2"')).toBe('https://example.com/a%20b.jpg?x=1&y=%222%22')
    expect(safeHttpUrl('HTTP://EXAMPLE.com/')).toBe('http://example.com/')
  })

  it('refuses every other scheme, relative URLs and junk', () => {
    for (const url of ['javascript:alert(1)', ' JAVASCRIPT:alert(1)', 'java\tscript:alert(1)', 'data:image/png;base64,AA', 'file:///etc/passwd', '//example.com/x', '/x.jpg', 'not a url', '', null, undefined]) {
      expect(safeHttpUrl(url), String(url)).toBeNull()
    }
  })
})
