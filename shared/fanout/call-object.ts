/**
 * @module
 * One call to a Durable Object, made again on a fresh stub when the runtime marks the failure
 * retryable (the object was reset or moved): a stub that threw once stays broken.
 */

/** Calls of one object when the runtime keeps saying the call may be retried. */
export const OBJECT_CALL_ATTEMPTS = 3

/**
 * @example
 * const answer = await callObject(() => env.SWEEP.getByName(name), (stub) => stub.run(params))
 */
export async function callObject<S, T>(stub: () => S, call: (stub: S) => Promise<T>, attempts = OBJECT_CALL_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(stub())
    } catch (e) {
      if (!retryable(e) || attempt >= attempts) throw e
    }
  }
}

function retryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { retryable?: unknown }).retryable === true
}
