/**
 * @module
 * The Hono app every task Worker starts from: `/healthz`, problem+json for errors and unknown routes.
 */
import { Hono, type Env as HonoEnv } from 'hono'
import { notFound, onError } from './on-error'

export function createTaskApp<E extends HonoEnv>(worker: string): Hono<E> {
  const app = new Hono<E>()
  app.get('/healthz', (c) => c.json({ status: 'ok', worker }))
  app.notFound(notFound)
  app.onError(onError)
  return app
}
