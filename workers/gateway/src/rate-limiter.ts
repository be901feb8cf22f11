/**
 * @module
 * The Durable Object that counts one client's points (named `key:<id>` or `ip:<address>`).
 *
 * Why an object and not Cloudflare's Rate Limiting binding: the binding's `limit({ key })` answers
 * only `{ success }` (no remaining count for `RateLimit-Remaining`), takes only 10 or 60 s periods,
 * is per location and eventually consistent, and cannot charge a price known only after the answer.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Env } from './env'
import { takePoints, type Take, type Verdict, type WindowState } from './rate-window'

const STATE_KEY = 'window'

export class RateLimiter extends DurableObject<Env> {
  #state: WindowState | undefined

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#state = ctx.storage.kv.get<WindowState>(STATE_KEY)
  }

  /**
   * Charges `take.cost` points now, unless that passes the limit (see {@link takePoints}).
   * @example await env.RATE_LIMITER.getByName('ip:203.0.113.9').take({ cost: 1, limit: 600, windowSeconds: 60 })
   */
  async take(take: Take): Promise<Verdict> {
    const { state, verdict } = takePoints(this.#state, take, Date.now())
    if (state.start !== this.#state?.start || state.used !== this.#state.used) {
      this.#state = state
      this.ctx.storage.kv.put(STATE_KEY, state)
      // Forget the client once its window is long over: storage stays one row per active client.
      await this.ctx.storage.setAlarm(state.start + 2 * Math.max(1, take.windowSeconds) * 1000)
    }
    return verdict
  }

  override async alarm(): Promise<void> {
    this.#state = undefined
    await this.ctx.storage.deleteAll()
  }
}
