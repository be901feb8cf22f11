/**
 * @module
 * mly-jobs: every task as a job that outlives the request (docs/api-v1.md, "Jobs"). `POST
 * /v1/jobs` checks the params with the synchronous endpoint's own schemas, makes a {@link Job}
 * object named by a fresh random id and answers 202 at once; the object runs the task. Status,
 * result and the event stream are read from that object.
 *
 * Webhooks (README, "Webhooks"): `POST /v1/hooks/{task}` is the same submission made by another
 * system, signed with WEBHOOK_SECRET (src/hooks.ts); a job with a `callback_url` POSTs its
 * result there when it ends (src/job.ts, src/callback.ts); `POST /v1/jobs/{id}/redeliver` sends
 * it again.
 */
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { fail, problem, ProblemError, problemResponse, type Problem } from '../../../shared/problem/problem'
import { createTaskApp } from '../../../shared/http/task-app'
import { isJobTask, jobRequest, JOB_TASKS, type JobTask } from '../../../shared/http/task-params'
import { validate } from '../../../shared/http/validation'
import { tokenFrom } from '../../../shared/upstream/token'
import { checkCallbackUrl, webhookSecrets } from '../../../shared/webhooks'
import type { Env } from './env'
import { hookTrigger, MAX_CALLBACK_URL, MAX_HOOK_BODY_BYTES } from './hooks'
import { jobNotFound, TASK_BINDING } from './job'
import { isJobId, newJobId } from './job-id'
import { statusUrl, type DeliveryView, type JobStatus, type Progress } from './job-view'

export { Job } from './job'
export { SeenSignature } from './seen-signature'

/** Largest `POST /v1/jobs` (and `POST /v1/hooks/{task}`) body: params are a handful of short strings. */
const MAX_BODY_BYTES = MAX_HOOK_BODY_BYTES

const jobBody = z.strictObject(
  {
    task: z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') }),
    params: z.unknown(),
    // Checked by checkCallbackUrl (shared/webhooks); the result is POSTed there when the job ends.
    callback_url: z.string({ error: 'must be a string' }).max(MAX_CALLBACK_URL, `must be at most ${MAX_CALLBACK_URL} characters`).optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `has unknown members; it takes task, params and callback_url` : 'must be a JSON object {"task", "params", "callback_url"?}') },
)

type JobsContext = Context<{ Bindings: Env }>

const app = createTaskApp<{ Bindings: Env }>('mly-jobs')

const bodyLimited = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => problemResponse(problem('payload_too_large', `A job request body may be at most ${MAX_BODY_BYTES} bytes.`, { limit_bytes: MAX_BODY_BYTES })) })

app.post('/v1/jobs', bodyLimited, validate('json', jobBody), async (c) => {
  const { task, params, callback_url } = c.req.valid('json')
  if (!isJobTask(task)) fail('invalid_body', `Body member 'task' must be one of ${JOB_TASKS.join(', ')}; got '${task.slice(0, 40)}'.`)
  return startJob(c, task, params, callback_url)
})

app.post('/v1/hooks/:task', bodyLimited, async (c) => {
  const { task, params, callbackUrl } = await hookTrigger(c.req.raw, c.req.param('task'), c.env)
  return startJob(c, task, params, callbackUrl)
})

/**
 * Checks a job's params and callback_url, makes its object and answers 202 with where to follow
 * it; a bad param or callback_url throws its 400 (or the task Worker's 422).
 */
async function startJob(c: JobsContext, task: JobTask, params: unknown, callbackUrl: string | undefined): Promise<Response> {
  const request = jobRequest(task, params)
  if (!request.ok) throw new ProblemError(request.problem)
  if (callbackUrl !== undefined) checkedCallbackUrl(callbackUrl, c.env)
  // Only a client token header is kept (in the Job's memory); anything else means the server's token.
  const own = tokenFrom(c.req.header('authorization'), undefined)
  const authorization = own ? `OAuth ${own.token}` : undefined
  const progress = await probe(c.env, task, request.path, authorization)
  const id = newJobId()
  const origin = new URL(c.req.url).origin
  // RPC's Serializable mapping cannot follow Problem's open members: the shape is JobStatus.
  const status = (await c.env.JOB.getByName(id).create({ id, task, path: request.path, ...(callbackUrl !== undefined ? { callbackUrl } : {}), ...(progress ? { progress } : {}), origin }, authorization)) as unknown as JobStatus
  const url = statusUrl(origin, id)
  return c.json({ id, state: status.state, status_url: url }, 202, { location: url, 'cache-control': 'no-store' })
}

/** A callback_url the job may call, or a 400 `invalid_callback_url` saying why not. */
function checkedCallbackUrl(raw: string, env: Env): void {
  if (webhookSecrets(env.WEBHOOK_SECRET).length === 0) {
    fail('invalid_callback_url', 'This server takes no callback_url: it has no WEBHOOK_SECRET to sign callbacks with.', { reason: 'callbacks_disabled' })
  }
  const check = checkCallbackUrl(raw, env.CALLBACK_ALLOW_HOSTS)
  if (!check.ok) fail('invalid_callback_url', `Body member 'callback_url' is refused: ${check.reason}.`, { reason: check.reason })
}

app.get('/v1/jobs/:id', async (c) => {
  const id = c.req.param('id')
  if (!isJobId(id)) return problemResponse(jobNotFound())
  const status = (await c.env.JOB.getByName(id).status(new URL(c.req.url).origin)) as unknown as JobStatus | null
  if (!status) return problemResponse(jobNotFound())
  return c.json(status, 200, { 'cache-control': 'no-store' })
})

app.post('/v1/jobs/:id/redeliver', async (c) => {
  const id = c.req.param('id')
  if (!isJobId(id)) return problemResponse(jobNotFound())
  const answer = (await c.env.JOB.getByName(id).redeliver()) as unknown as { delivery: DeliveryView } | { problem: Problem }
  if ('problem' in answer) return problemResponse(answer.problem)
  const url = statusUrl(new URL(c.req.url).origin, id)
  return c.json(answer.delivery, 202, { location: url, 'cache-control': 'no-store' })
})

// Streamed bodies (the stored result in chunks, the event stream): the object answers them itself.
for (const route of ['/v1/jobs/:id/result', '/v1/jobs/:id/events']) {
  app.get(route, async (c) => {
    const id = c.req.param('id')
    if (!isJobId(id)) return problemResponse(jobNotFound())
    // Only what the object reads: the public URL (for the URLs in the status) and Last-Event-ID.
    const lastEventId = c.req.header('last-event-id')
    return c.env.JOB.getByName(id).fetch(new Request(c.req.url, { headers: lastEventId ? { 'last-event-id': lastEventId } : {} }))
  })
}

/**
 * Asks the task Worker about the question before the job is made: its own checks (e.g. its
 * largest box) answer a 400 or 422 here, as the synchronous endpoint would, rather than a failed
 * job later; otherwise it reports any progress already made on the question (null if none).
 */
async function probe(env: Env, task: JobTask, path: string, authorization: string | undefined): Promise<Progress | null> {
  let res: Response
  try {
    res = await env[TASK_BINDING[task]].fetch(`https://${task}.internal/internal/progress${path}`, { headers: authorization ? { authorization } : {} })
  } catch {
    return null // the job's own call will find out
  }
  if (res.status === 400 || res.status === 422) throw new ProblemError((await res.json()) as Problem)
  if (!res.ok) {
    await res.body?.cancel()
    return null
  }
  return (await res.json()) as Progress
}

export default app
