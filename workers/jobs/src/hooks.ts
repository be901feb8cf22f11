/**
 * @module
 * `POST /v1/hooks/{task}`: a job submitted by another system, proven by its `X-Signature`
 * (HMAC-SHA256 with WEBHOOK_SECRET over `<t>.<raw body>`, shared/webhooks). The raw body is read
 * once (size-bounded before this), verified as it came, remembered so a replay is refused, and
 * only then parsed: the task's params plus an optional `callback_url`.
 */
import { readBodyWithin } from '../../../shared/http/body-limit'
import { fail } from '../../../shared/problem/problem'
import { isJobTask, JOB_TASKS, type JobTask } from '../../../shared/http/task-params'
import { SIGNATURE_TOLERANCE_SECONDS, verifySignature, webhookSecrets } from '../../../shared/webhooks'
import type { Env } from './env'

export interface HookTrigger {
  task: JobTask
  /** The body less `callback_url`: checked as `POST /v1/jobs` checks `params`. */
  params: Record<string, unknown>
  callbackUrl?: string
}

/** Largest trigger body: params are a handful of short strings (as `POST /v1/jobs`). */
export const MAX_HOOK_BODY_BYTES = 16 * 1024

/** Longest callback_url taken (here and by `POST /v1/jobs`). */
export const MAX_CALLBACK_URL = 2048

/**
 * The job a signed trigger asks for, or the problem that refuses it: 404 `webhooks_disabled`
 * (no WEBHOOK_SECRET: never accept unsigned), 404 for an unknown task, 401 `signature_*`, 409
 * `signature_replayed`, 400 `invalid_body`.
 * @example const { task, params } = await hookTrigger(request, 'image-detections', env) // params: { image_id: '…' }
 */
export async function hookTrigger(req: Request, task: string, env: Env): Promise<HookTrigger> {
  const secrets = webhookSecrets(env.WEBHOOK_SECRET)
  if (secrets.length === 0) fail('webhooks_disabled', 'This server takes no webhook triggers: it has no WEBHOOK_SECRET.')
  if (!isJobTask(task)) fail('not_found', `No webhook for task '${task.slice(0, 40)}'; the tasks are ${JOB_TASKS.join(', ')}.`)
  const raw = await rawBody(req)
  const check = await verifySignature(req.headers.get('x-signature'), raw, secrets, Math.floor(Date.now() / 1000))
  if (!check.ok) fail(check.reason, check.detail)
  // Remembered until the signature's window has passed; later, its timestamp refuses it.
  const forgetAt = (check.t + SIGNATURE_TOLERANCE_SECONDS + 1) * 1000
  if (!(await env.SEEN_SIGNATURES.getByName(check.v1).claim(forgetAt))) {
    fail('signature_replayed', 'This signature was already used: sign each trigger anew, with the current time.')
  }
  return { task, ...hookBody(raw) }
}

/**
 * The body as it came, as text; 413 once more than {@link MAX_HOOK_BODY_BYTES} came, whatever
 * Content-Length said, with no more than that kept.
 */
async function rawBody(req: Request): Promise<string> {
  const bytes = await readBodyWithin(req, MAX_HOOK_BODY_BYTES)
  if (bytes === null) fail('payload_too_large', `A webhook trigger's body may be at most ${MAX_HOOK_BODY_BYTES} bytes.`, { limit_bytes: MAX_HOOK_BODY_BYTES })
  return new TextDecoder().decode(bytes)
}

/** The body's params and callback_url; 400 when it is not a JSON object. */
function hookBody(raw: string): Omit<HookTrigger, 'task'> {
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    fail('invalid_body', 'The body must be a JSON object: the task\'s params, and "callback_url" optionally.')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('invalid_body', 'The body must be a JSON object: the task\'s params, and "callback_url" optionally.')
  const { callback_url: callbackUrl, ...params } = body as Record<string, unknown>
  if (callbackUrl === undefined) return { params }
  if (typeof callbackUrl !== 'string') fail('invalid_body', "Body member 'callback_url' must be a string.")
  if (callbackUrl.length > MAX_CALLBACK_URL) fail('invalid_body', `Body member 'callback_url' must be at most ${MAX_CALLBACK_URL} characters.`)
  return { params, callbackUrl }
}
