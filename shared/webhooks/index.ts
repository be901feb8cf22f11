/**
 * @module
 * Webhooks, the pure pieces: signing and checking `X-Signature`, whether a callback URL is safe
 * to POST to, and when to retry a delivery.
 */
export { SIGNATURE_TOLERANCE_SECONDS, signatureHeader, verifySignature, webhookSecrets, type SignatureCheck } from './signature'
export { checkCallbackUrl, type CallbackUrlCheck } from './callback-url'
export { DEFAULT_BASE_DELAY_MS, DEFAULT_DELIVERY_ATTEMPTS, DEFAULT_MAX_DELAY_MS, deliveryDelayMs, readCapped, retryAfterSeconds, type DeliveryDelayOptions } from './delivery-schedule'
