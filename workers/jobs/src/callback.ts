/**
 * @module
 * A job's callback: what is POSTed to its `callback_url` when it ends ({@link callbackMessage}),
 * and one attempt at delivering it ({@link attemptDelivery}): signed over the exact bytes sent,
 * redirects never followed, the wait and the part of the receiver's answer we read both capped.
 * Delivery is at-least-once: a receiver dedupes by `X-Delivery-Id`, the same on every attempt of
 * one delivery.
 */
import { PROBLEM_CONTENT_TYPE, type Problem } from '../../../shared/problem/problem'
import { readCapped, retryAfterSeconds, signatureHeader } from '../../../shared/webhooks'
import type { JobStatus } from './job-view'

/** Results larger than this are announced by URL, not sent. */
export const MAX_CALLBACK_BODY_BYTES = 1024 * 1024
/** Longest wait for a receiver's answer. */
export const CALLBACK_TIMEOUT_MS = 10_000
/** Bytes of a receiver's answer read (and then dropped): enough to end the exchange politely. */
const RECEIVER_ANSWER_BYTES = 4 * 1024
/** Longest error text kept per attempt. */
const MAX_ERROR_CHARS = 200

export type CallbackEvent = 'job.done' | 'job.failed'

export interface CallbackMessage {
  event: CallbackEvent
  contentType: string
  body: string
}

/** One attempt as `GET /v1/jobs/{id}` shows it: a status, or an error when there was no answer. */
export interface DeliveryAttempt {
  at: string
  status?: number
  error?: string
  latency_ms: number
}

export interface AttemptOutcome {
  ok: boolean
  attempt: DeliveryAttempt
  /** The receiver's Retry-After, in seconds, if it sent one. */
  retryAfterS?: number
}

/**
 * The callback of an ended job: a done job's result exactly as `…/result` serves it (up to
 * {@link MAX_CALLBACK_BODY_BYTES}; above, `{"job": <status>, "result_url"}`), a failed job's
 * problem with `job` (its id) and `status_url`.
 * @example callbackMessage(status, { contentType: 'application/json', bytes: 2, text: () => '{}' }).body // '{}'
 */
export function callbackMessage(status: JobStatus, result: { contentType: string; bytes: number; text: () => string } | null, statusUrl: string): CallbackMessage {
  if (status.state === 'failed' || !result) {
    const p: Problem | undefined = status.problem
    return { event: 'job.failed', contentType: PROBLEM_CONTENT_TYPE, body: JSON.stringify({ ...p, job: status.id, status_url: statusUrl }) }
  }
  if (result.bytes > MAX_CALLBACK_BODY_BYTES) {
    return { event: 'job.done', contentType: 'application/json', body: JSON.stringify({ job: status, result_url: status.result_url }) }
  }
  return { event: 'job.done', contentType: result.contentType, body: result.text() }
}

/**
 * POSTs `message` to `url` once, signed with `secret`. Never throws: a network error, a timeout,
 * a redirect (not followed) or a non-2xx answer is a failed attempt.
 * @example await attemptDelivery(new URL('https://hooks.example/in'), message, 'd-1', 'whsec', fetch) // { ok: true, attempt: { status: 204, … } }
 */
export async function attemptDelivery(url: URL, message: CallbackMessage, deliveryId: string, secret: string, fetcher: typeof fetch = fetch): Promise<AttemptOutcome> {
  const started = Date.now()
  const at = new Date(started).toISOString()
  const latency = () => Date.now() - started
  try {
    const signature = await signatureHeader(secret, message.body, Math.floor(started / 1000))
    const res = await fetcher(url, {
      method: 'POST',
      body: message.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      headers: {
        'content-type': message.contentType,
        'x-signature': signature,
        'x-delivery-id': deliveryId,
        'x-event-type': message.event,
        'user-agent': 'mly-edge-webhooks/1',
      },
    })
    await readCapped(res, RECEIVER_ANSWER_BYTES, { timeoutMs: CALLBACK_TIMEOUT_MS }).catch(() => '')
    const ms = latency()
    const retryAfterS = retryAfterSeconds(res.headers.get('retry-after'), Date.now())
    const ok = res.status >= 200 && res.status < 300
    const error = res.status >= 300 && res.status < 400 ? `redirect to ${JSON.stringify(clip(res.headers.get('location') ?? ''))} not followed` : undefined
    return { ok, attempt: { at, status: res.status, ...(error ? { error } : {}), latency_ms: ms }, ...(retryAfterS !== undefined && !ok ? { retryAfterS } : {}) }
  } catch (e) {
    const name = e instanceof Error ? e.name : ''
    const error = name === 'TimeoutError' ? `no answer within ${CALLBACK_TIMEOUT_MS / 1000} s` : `not reached: ${clip(e instanceof Error ? e.message : String(e))}`
    return { ok: false, attempt: { at, error, latency_ms: latency() } }
  }
}

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text
}
