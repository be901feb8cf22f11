/**
 * Property-based fuzzing of the CORS allow-list (`allowedOrigin`): for hostile `Origin` headers and
 * allow-lists, the answer is `*`, `null`, or exactly the request's origin when the list names it.
 * `FUZZ_RUNS` / `FUZZ_SEED`: see test/support/fuzz.ts.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { allowedOrigin } from './cors-origin'
import { fuzzParameters, fuzzTimeout, hostileText } from '../../../test/support/fuzz'

const origin = fc.oneof(fc.webUrl().map((u) => new URL(u).origin), fc.constantFrom('null', 'https://a.example', 'https://a.example.evil', 'https://A.example', 'https://a.example:443', '*', ''), hostileText)

describe('allowedOrigin', () => {
  it('`*` when the list allows every origin; otherwise the origin itself only when the list names it exactly, else null', () => {
    const list = fc.oneof(
      fc.array(fc.oneof(origin, fc.constant('*')), { maxLength: 4 }).map((l) => l.map((o) => ` ${o} `).join(',')),
      hostileText,
      fc.constant(undefined),
    )
    fc.assert(
      fc.property(fc.option(origin, { nil: undefined }), list, (o, l) => {
        const answer = allowedOrigin(o, l)
        const items = (l ?? '*').split(',').map((s) => s.trim()).filter((s) => s !== '')
        if (items.length === 0 || items.includes('*')) expect(answer).toBe('*')
        else expect(answer).toBe(o !== undefined && o !== '' && items.includes(o) ? o : null)
      }),
      fuzzParameters(3000),
    )
  }, fuzzTimeout())
})
