import { describe, expect, it } from 'vitest'
import { boundText, boundValue, MAX_ECHO_CHARS, MAX_ECHO_DEPTH, MAX_ECHO_ITEMS, redactTokens, REDACTED } from './echo-bounds'

describe('redactTokens', () => {
  it.each([
    ['MLY|1|abc', REDACTED],
    ["'MLY|1|abc' is bad", `'${REDACTED}' is bad`],
    ['a=mly|1|abc&b=2', `a=${REDACTED}&b=2`],
    ['MLY%7C1%7Cabc,next', `${REDACTED},next`],
    ['/v1/MLY|1|abc/x', `/v1/${REDACTED}/x`],
    ['two MLY|1|a and MLY|2|b', `two ${REDACTED} and ${REDACTED}`],
    ['no token here: MLYx|', 'no token here: MLYx|'],
  ])('%s → %s', (input, want) => {
    expect(redactTokens(input)).toBe(want)
  })
})

describe('boundText', () => {
  it('keeps text up to the limit, cuts longer text with an ellipsis', () => {
    expect(boundText('x'.repeat(MAX_ECHO_CHARS))).toBe('x'.repeat(MAX_ECHO_CHARS))
    expect(boundText('x'.repeat(MAX_ECHO_CHARS + 1))).toBe(`${'x'.repeat(MAX_ECHO_CHARS - 1)}…`)
  })

  it('redacts before cutting, so no half token is left past the cut', () => {
    const text = `${'x'.repeat(MAX_ECHO_CHARS - 5)}MLY|4242|s3cr3t`
    expect(boundText(text)).not.toContain('424')
    expect(boundText(text).length).toBe(MAX_ECHO_CHARS)
  })
})

describe('boundValue', () => {
  it('cuts lists and objects to the item limit and says so', () => {
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]))
    const { value, cut } = boundValue({ list: Array.from({ length: 30 }, (_, i) => i), many })
    expect(cut).toBe(true)
    expect((value as any).list).toEqual(Array.from({ length: MAX_ECHO_ITEMS }, (_, i) => i))
    expect(Object.keys((value as any).many)).toHaveLength(MAX_ECHO_ITEMS)
  })

  it('drops nesting past the depth limit', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < MAX_ECHO_DEPTH + 2; i++) deep = [deep]
    const { value, cut } = boundValue(deep)
    expect(cut).toBe(true)
    expect(JSON.stringify(value)).toBe(`${'['.repeat(MAX_ECHO_DEPTH)}null${']'.repeat(MAX_ECHO_DEPTH)}`)
  })

  it('passes numbers, booleans and null, and leaves a small value whole', () => {
    const small = { a: 1, b: true, c: null, d: [{ name: 'bbox', reason: 'r' }] }
    expect(boundValue(small)).toEqual({ value: small, cut: false })
  })
})
