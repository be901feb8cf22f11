/**
 * @module
 * The Hono app every task Worker starts from: `/healthz`, problem+json for errors and unknown routes,
 * each problem naming the gateway's `x-request-id` as `request_id`.
 */
import { Hono, type Env as HonoEnv } from 'hono'
import { notFound, onError, problemRequestId } from './on-error'

export function createTaskApp<E extends HonoEnv>(worker: string): Hono<E> {
  const app = new Hono<E>()
  // First, so it sees every problem the app answers (onError's and notFound's included).
  app.use('*', problemRequestId)
  app.get('/healthz', (c) => c.json({ status: 'ok', worker }))
  app.notFound(notFound)
  app.onError(onError)
  return app
}
