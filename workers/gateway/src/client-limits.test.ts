import { describe, expect, it } from 'vitest'
import { answerCost, clientIp } from './client-limits'

describe('clientIp', () => {
  it('trusts CF-Connecting-IP only', () => {
    expect(clientIp(new Headers({ 'cf-connecting-ip': ' 203.0.113.9 ', 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '2.2.2.2' }))).toBe('203.0.113.9')
  })

  it('puts requests without one in one shared bucket, whatever else they send', () => {
    expect(clientIp(new Headers({ 'x-forwarded-for': '1.1.1.1' }))).toBe('unknown')
    expect(clientIp(new Headers({ 'cf-connecting-ip': '  ' }))).toBe('unknown')
  })
})

describe('answerCost', () => {
  it('charges a miss or a new job the miss cost, anything else 1', () => {
    const res = (headers: Record<string, string>) => new Response('{}', { headers })
    expect(answerCost(res({ 'x-cache': 'miss' }), { missCost: 10 })).toBe(10)
    expect(answerCost(res({ 'x-cache': 'hit' }), { missCost: 10 })).toBe(1)
    expect(answerCost(res({}), { missCost: 10 })).toBe(1)
    expect(answerCost(res({}), { missCost: 7, newJob: true })).toBe(7)
  })
})
