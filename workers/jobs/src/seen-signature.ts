/**
 * @module
 * SeenSignature: the Durable Object that remembers one webhook signature (named by its `v1`
 * value) for as long as it could be replayed, so the same signed trigger starts at most one job,
 * across restarts and isolates. Its alarm deletes it once the signature's time window has passed
 * (after that the timestamp check refuses it anyway).
 */
import { DurableObject } from 'cloudflare:workers'
import type { Env } from './env'

export class SeenSignature extends DurableObject<Env> {
  /**
   * Records the signature; true the first time, false for a replay. Check and set are one
   * synchronous SQL statement: no other call can run between them.
   * @example await env.SEEN_SIGNATURES.getByName(v1).claim(Date.now() + 301_000) // true, then false
   */
  async claim(forgetAt: number): Promise<boolean> {
    const sql = this.ctx.storage.sql
    sql.exec('CREATE TABLE IF NOT EXISTS seen (one INTEGER PRIMARY KEY CHECK (one = 1), forget_at INTEGER NOT NULL)')
    const first = sql.exec('INSERT INTO seen (one, forget_at) VALUES (1, ?) ON CONFLICT DO NOTHING RETURNING one', forgetAt).toArray().length === 1
    if (first) await this.ctx.storage.setAlarm(forgetAt)
    return first
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll()
  }
}
